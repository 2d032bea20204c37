package io.lameduck.time;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and prints durations in the Go style used by Kubernetes: {@code 500ms}, {@code 10s}, {@code 1m30s}.
 *
 * <p>Every duration we accept, from a file, the environment or a request, is parsed here and checked against a
 * {@link Range}, so none can overflow later (as nanoseconds, or as {@code int} milliseconds for socket timeouts).
 */
public final class Durations {
    public static final String FORMAT_HINT = "a duration such as 500ms, 10s, 2m or 1h30m";
    /** The longest duration any setting may have: fits {@code int} milliseconds and is longer than any real drain. */
    public static final Duration MAX = Duration.ofHours(24);

    /** Longer than this is not a duration we could have meant (and keeps {@link BigDecimal} work tiny). */
    private static final int MAX_TEXT_LENGTH = 64;
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");
    private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);
    private static final BigInteger NANOS_PER_SECOND = BigInteger.valueOf(1_000_000_000L);
    private static final Duration LONGEST = Duration.ofSeconds(Long.MAX_VALUE);

    private Durations() {}

    /** The values a duration setting allows, both ends included. */
    public record Range(Duration min, Duration max) {
        /** Most settings: 0s to {@link #MAX}. */
        public static final Range SETTING = new Range(Duration.ZERO, MAX);
        /** Maintenance TTLs: long enough for a weekend, short enough to stay far from any overflow. */
        public static final Range TTL = new Range(Duration.ofMillis(1), Duration.ofDays(7));

        public boolean contains(Duration duration) {
            return duration.compareTo(min) >= 0 && duration.compareTo(max) <= 0;
        }

        /** For error messages: {@code from 0s to 24h}. */
        public String describe() {
            return "from " + format(min) + " to " + format(max);
        }
    }

    /**
     * The parsed duration, or empty if {@code text} is not a non-negative duration with a unit. The result is exact
     * (no floating point) and may be huge; check it against a {@link Range} before using it.
     */
    public static Optional<Duration> parse(String text) {
        if (text == null || text.isBlank() || text.length() > MAX_TEXT_LENGTH) {
            return Optional.empty();
        }
        String trimmed = text.trim();
        if (trimmed.equals("0")) {
            return Optional.of(Duration.ZERO);
        }
        Matcher matcher = PART.matcher(trimmed);
        BigDecimal nanos = BigDecimal.ZERO;
        int end = 0;
        while (matcher.find()) {
            if (matcher.start() != end) {
                return Optional.empty();
            }
            end = matcher.end();
            long nanosPerUnit = switch (matcher.group(2)) {
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            nanos = nanos.add(new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(nanosPerUnit)));
        }
        if (end != trimmed.length() || end == 0) {
            return Optional.empty();
        }
        BigInteger[] secondsAndNanos = nanos.setScale(0, RoundingMode.HALF_UP).toBigIntegerExact().divideAndRemainder(NANOS_PER_SECOND);
        if (secondsAndNanos[0].compareTo(LONG_MAX) > 0) {
            return Optional.of(LONGEST); // past what Duration holds: still a duration, and outside every Range
        }
        return Optional.of(Duration.ofSeconds(secondsAndNanos[0].longValueExact(), secondsAndNanos[1].longValueExact()));
    }

    /** Seconds with millisecond precision, for messages and reports: {@code 1.500s}. */
    public static String seconds(Duration duration) {
        return String.format("%.3fs", duration.getSeconds() + duration.getNano() / 1e9);
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
