package io.lameduck.http;

import java.time.Duration;

/** Sees every admin request once it is complete (the metrics package counts them). */
@FunctionalInterface
public interface RequestObserver {
    RequestObserver NONE = (path, status, duration) -> { };

    void observe(String path, int status, Duration duration);
}
