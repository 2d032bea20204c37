package io.lameduck.metrics;

/** Classic histogram upper bounds, in seconds. Classic only: Prometheus 2.42 and promtool read them as they are. */
final class Buckets {
    /** Drains, drain steps and hooks: from a quick probe-only drain to a two-minute grace period. */
    static final double[] DRAIN = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120};

    /** Withdrawal to the last new connection: zero (traffic stopped at once) up to a slow cloud load balancer. */
    static final double[] LAST_NEW_CONNECTION = {0, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60};

    /**
     * Admin requests. Probes answer in milliseconds; the tail is for {@code /prestop}, which blocks for
     * the whole drain.
     */
    static final double[] HTTP = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30, 120};

    private Buckets() {}
}
