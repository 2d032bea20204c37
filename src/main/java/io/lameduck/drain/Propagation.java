package io.lameduck.drain;

import io.lameduck.config.Durations;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The propagate step: after the withdrawal, wait until kube-proxy, ingress controllers and load balancers have
 * stopped sending new connections to the pod.
 *
 * <ul>
 *   <li>{@code fixed}: wait {@code delay}, whatever happens.
 *   <li>{@code quiet}: end once no new connection has arrived on the application's ports for {@code quietPeriod},
 *       but not before {@code minimum} (low traffic cannot prove silence: a quiet second may only mean nobody
 *       called) and not after {@code maximum}. If the connection table cannot be read, wait the maximum.
 *       Where the step's first {@code minimum} saw steady but sparse traffic (at least {@link #STEADY_TRAFFIC} new
 *       connections), the silence must also last {@link #QUIET_GAPS} times their mean gap: at 6 new connections a
 *       second a quiet second happens by chance about once in 400 seconds, often enough that the benchmark saw a
 *       drain end while kube-proxy (syncing every 5 s) still sent the pod connections; ten mean gaps happen by
 *       chance about once in 20,000. Fewer connections than that (a kubelet probe, a straggler) prove no rate, and
 *       a gap estimated from them stretched drains to the maximum in the benchmark.
 * </ul>
 *
 * Either mode stays within the drain deadline and, when it knows the application's ports, reports the new
 * connections it saw ({@link TrafficReport}).
 */
public final class Propagation {
    public enum Mode { FIXED, QUIET }

    /** How many mean gaps between new connections a silence must last to count as the end of traffic. */
    static final int QUIET_GAPS = 10;
    /** How many new connections within {@code minimum} make a rate to measure gaps by. */
    static final int STEADY_TRAFFIC = 3;

    private final Mode mode;
    private final Duration delay;
    private final Duration quietPeriod;
    private final Duration minimum;
    private final Duration maximum;
    private final Duration pollInterval;
    private final Optional<AppConnections> connections;
    private final Ticker ticker;
    private final Clock clock;

    private Propagation(Mode mode, Duration delay, Duration quietPeriod, Duration minimum, Duration maximum,
            Duration pollInterval, Optional<AppConnections> connections, Ticker ticker, Clock clock) {
        this.mode = mode;
        this.delay = delay;
        this.quietPeriod = quietPeriod;
        this.minimum = minimum;
        this.maximum = maximum;
        this.pollInterval = pollInterval;
        this.connections = connections;
        this.ticker = ticker;
        this.clock = clock;
    }

    /** Waits {@code delay}; new connections are not watched. */
    public static Propagation fixed(Duration delay) {
        return new Propagation(Mode.FIXED, delay, Duration.ZERO, delay, delay, delay, Optional.empty(), Ticker.SYSTEM, Clock.systemUTC());
    }

    /** Waits {@code delay} and reports the new connections on {@code connections} meanwhile. */
    public static Propagation fixed(Duration delay, AppConnections connections, Duration pollInterval, Ticker ticker, Clock clock) {
        return new Propagation(Mode.FIXED, delay, Duration.ZERO, delay, delay, pollInterval, Optional.of(connections), ticker, clock);
    }

    /** Ends after {@code quietPeriod} without a new connection on {@code connections}, within {@code minimum..maximum}. */
    public static Propagation quiet(Duration quietPeriod, Duration minimum, Duration maximum, AppConnections connections,
            Duration pollInterval, Ticker ticker, Clock clock) {
        return new Propagation(Mode.QUIET, maximum, quietPeriod, minimum, maximum, pollInterval, Optional.of(connections), ticker, clock);
    }

    /** The step: waits as the mode says, within the deadline; hands the traffic seen to {@code onTraffic}. */
    StepResult await(Deadline deadline, Consumer<TrafficReport> onTraffic) throws InterruptedException {
        Deadline.Grant grant = deadline.grant(mode == Mode.QUIET ? maximum : delay);
        long start = ticker.nanoTime();
        long end = start + grant.time().toNanos();
        Watch watch = connections.map(c -> new Watch(c)).orElse(null);
        boolean quiet = false;
        Duration required = quietPeriod;
        boolean rateTaken = false;
        while (true) {
            long now = ticker.nanoTime();
            if (watch != null) {
                watch.poll();
            }
            if (!rateTaken && watch != null && watch.working() && now - start >= minimum.toNanos()) {
                rateTaken = true; // once, from the traffic of the step's first `minimum`
                required = requiredQuiet(watch.tracker.newConnections());
            }
            if (mode == Mode.QUIET && rateTaken && watch.working() && watch.tracker.quietFor().compareTo(required) >= 0) {
                quiet = true;
                break;
            }
            if (now - end >= 0) {
                break;
            }
            long sleep = watch != null && watch.working() ? Math.min(end - now, pollInterval.toNanos()) : end - now;
            TimeUnit.NANOSECONDS.sleep(sleep); // waiting for other systems is this step's whole job
        }
        String waited = Durations.seconds(Duration.ofNanos(ticker.nanoTime() - start));
        String traffic = "";
        if (watch != null) {
            TrafficReport report = watch.report();
            onTraffic.accept(report);
            traffic = describe(report);
        }
        if (quiet) {
            String period = required.equals(quietPeriod) ? Durations.format(quietPeriod)
                    : Durations.format(required) + " (" + QUIET_GAPS + " mean gaps of the new connections in the first " + Durations.format(minimum) + ")";
            return StepResult.completed("no new connection for " + period + " after " + waited + traffic);
        }
        String detail = "waited " + waited + (mode == Mode.FIXED ? " for load balancers to catch up" : "") + traffic;
        if (mode == Mode.FIXED) {
            return grant.cutByDeadline() ? StepResult.timedOut(grant, detail, null) : StepResult.completed(detail);
        }
        if (!watch.working()) {
            return grant.cutByDeadline() ? StepResult.timedOut(grant, detail, null)
                    : StepResult.failed(detail, watch.error + "; waited the maximum " + Durations.format(maximum) + " instead");
        }
        return StepResult.timedOut(grant, detail, "new connections were still arriving at the maximum "
                + Durations.format(maximum) + " (none for only " + Durations.seconds(watch.tracker.quietFor()) + ")");
    }

    /**
     * The quiet period, or {@link #QUIET_GAPS} mean gaps of the {@code early} new connections seen within
     * {@code minimum} when they were steady traffic and that is longer.
     */
    private Duration requiredQuiet(int early) {
        if (early < STEADY_TRAFFIC) {
            return quietPeriod;
        }
        Duration gaps = Duration.ofMillis(minimum.toMillis() / early).multipliedBy(QUIET_GAPS);
        return gaps.compareTo(quietPeriod) > 0 ? gaps : quietPeriod;
    }

    private static String describe(TrafficReport report) {
        if (report.error() != null) {
            return "; " + report.error();
        }
        return report.newConnections() == 0 ? "; no new connection after the withdrawal"
                : "; " + report.newConnections() + " new connection(s), the last " + report.lastNewConnectionSeconds()
                        + "s after the withdrawal, from " + report.lastNewConnectionPeer();
    }

    /** The tracker of one step, and why it stopped working if the table could not be read. */
    private final class Watch {
        private final AppConnections connections;
        private NewConnectionTracker tracker;
        private String error;

        Watch(AppConnections connections) {
            this.connections = connections;
            try {
                tracker = NewConnectionTracker.start(connections, ticker, clock);
            } catch (IOException e) {
                error = "cannot read the TCP connection table: " + e.getMessage();
            }
        }

        boolean working() {
            return error == null;
        }

        void poll() {
            if (working()) {
                try {
                    tracker.poll();
                } catch (IOException e) {
                    error = "cannot read the TCP connection table: " + e.getMessage();
                }
            }
        }

        TrafficReport report() {
            return tracker == null ? NewConnectionTracker.unreadable(connections, error) : tracker.report().withError(error);
        }
    }
}
