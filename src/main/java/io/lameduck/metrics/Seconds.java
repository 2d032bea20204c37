package io.lameduck.metrics;

import java.time.Duration;

final class Seconds {
    private Seconds() {}

    /** Without {@link Duration#toNanos()}, which overflows for durations past 292 years. */
    static double of(Duration duration) {
        return duration.getSeconds() + duration.getNano() / 1e9;
    }
}
