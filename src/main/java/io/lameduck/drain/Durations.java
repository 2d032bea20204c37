package io.lameduck.drain;

import java.time.Duration;

/** Formatting of durations for messages. */
final class Durations {
    private Durations() {}

    static String seconds(Duration duration) {
        return String.format("%.3fs", duration.toNanos() / 1e9);
    }
}
