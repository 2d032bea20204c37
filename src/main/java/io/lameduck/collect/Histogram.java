package io.lameduck.collect;

import java.util.Arrays;

/**
 * A fixed-bucket histogram of seconds, as the fleet metrics export it (durations from a quarter second to two minutes).
 * Not thread-safe: {@link FleetLedger} guards it.
 */
final class Histogram {
    /** Upper bounds in seconds; the last bucket, +Inf, is implied. */
    static final double[] BOUNDS = {0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120, Double.POSITIVE_INFINITY};

    private final long[] counts;
    private double sum;

    Histogram() {
        this(new long[BOUNDS.length], 0);
    }

    private Histogram(long[] counts, double sum) {
        this.counts = counts;
        this.sum = sum;
    }

    void observe(double seconds) {
        double value = Math.max(0, seconds);
        for (int i = 0; i < BOUNDS.length; i++) {
            if (value <= BOUNDS[i]) {
                counts[i]++;
                break;
            }
        }
        sum += value;
    }

    /** Per-bucket counts (not cumulative), the last one +Inf. */
    long[] counts() {
        return counts.clone();
    }

    double sum() {
        return sum;
    }

    long count() {
        return Arrays.stream(counts).sum();
    }

    State state() {
        return new State(counts.clone(), sum);
    }

    /** A histogram restored from its persisted state; a state of another bucket layout is refused. */
    static Histogram of(State state) {
        if (state.counts() == null || state.counts().length != BOUNDS.length || state.sum() < 0
                || Arrays.stream(state.counts()).anyMatch(c -> c < 0)) {
            throw new IllegalArgumentException("a histogram state needs " + BOUNDS.length + " non-negative bucket counts");
        }
        return new Histogram(state.counts().clone(), state.sum());
    }

    /** What is persisted: the per-bucket counts and the sum. */
    record State(long[] counts, double sum) {}
}
