package io.lameduck.config;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints durations in the Go style used by Kubernetes: {@code 500ms}, {@code 10s}, {@code 1m30s}. */
public final class Durations {
    public static final String FORMAT_HINT = "a duration such as 500ms, 10s, 2m or 1h30m";

    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

    private Durations() {}

    /** The parsed duration, or empty if {@code text} is not a non-negative duration with a unit. */
    public static Optional<Duration> parse(String text) {
        if (text == null || text.isBlank()) {
            return Optional.empty();
        }
        String trimmed = text.trim();
        if (trimmed.equals("0")) {
            return Optional.of(Duration.ZERO);
        }
        Matcher matcher = PART.matcher(trimmed);
        Duration total = Duration.ZERO;
        int end = 0;
        while (matcher.find()) {
            if (matcher.start() != end) {
                return Optional.empty();
            }
            end = matcher.end();
            double amount = Double.parseDouble(matcher.group(1));
            long nanosPerUnit = switch (matcher.group(2)) {
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            total = total.plusNanos(Math.round(amount * nanosPerUnit));
        }
        return end == trimmed.length() && end > 0 ? Optional.of(total) : Optional.empty();
    }

    /** Seconds with millisecond precision, for messages and reports: {@code 1.500s}. */
    public static String seconds(Duration duration) {
        return String.format("%.3fs", duration.toNanos() / 1e9);
    }

    /** Prints a duration compactly, in the same syntax {@link #parse} accepts. */
    public static String format(Duration duration) {
        if (duration.isZero()) {
            return "0s";
        }
        long millis = duration.toMillis();
        if (millis % 3_600_000 == 0) {
            return millis / 3_600_000 + "h";
        }
        if (millis % 60_000 == 0) {
            return millis / 60_000 + "m";
        }
        if (millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }
}
