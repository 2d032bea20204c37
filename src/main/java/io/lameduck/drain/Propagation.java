package io.lameduck.drain;

import io.lameduck.sockets.AppConnections;
import io.lameduck.time.Deadline;
import io.lameduck.time.Durations;
import io.lameduck.time.TimeSource;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The propagate step: wait until kube-proxy, ingress controllers and load balancers have stopped sending the pod
 * traffic. The traffic is watched from the start of the drain ({@link #watch()}), so the time the withdrawal takes
 * already counts.
 *
 * <ul>
 *   <li>{@code fixed}: wait {@code delay} after the withdrawal, whatever happens.
 *   <li>{@code quiet}: end once the traffic that counts (see {@link TrafficTracker}: new connections, and requests
 *       on keep-alive connections until {@code keepAliveWait} after the withdrawal) has been silent long enough to be
 *       evidence, and never after {@code maximum}. Long enough is the quiet period, or {@link #QUIET_GAPS} mean gaps
 *       of the traffic measured from the trigger to the withdrawal (at least {@link #RATE_WINDOW}; with enough arrivals,
 *       only until the last of them, see {@link TrafficTracker#rateSpan}) when that is longer: a silence of ten mean
 *       gaps happens by chance about once in 20,000. The rate is not taken afterwards, when only
 *       kubelet probes trickle in. With fewer than {@link #STEADY_TRAFFIC} arrivals there is no rate to measure,
 *       and silence proves little: then the step also waits at least {@code minimum} after the withdrawal. So it
 *       does when the traffic is sparse, ten mean gaps longer than {@code minimum} (a kubelet probe every few
 *       seconds, and little else): waiting ten of those gaps would run to the maximum on every drain. The new
 *       connections just before the trigger ({@link TrafficTracker#prior}) set the gaps instead when they were the
 *       busier: fast consumers often move before the preStop arrives, leaving the drain nothing to measure. If the
 *       table cannot be read, it waits the maximum.
 * </ul>
 *
 * Either mode ({@link FixedPropagation}, {@link QuietPropagation}) stays within the drain deadline and, when it knows
 * the application's ports, reports the traffic it saw ({@link TrafficReport}), including who was still sending when it
 * ended. This class holds what they share: the watch of the traffic and the judgement of it.
 */
public abstract sealed class Propagation permits FixedPropagation, QuietPropagation {
    static final Logger LOG = LoggerFactory.getLogger(Propagation.class);

    /** How many mean gaps between arrivals a silence must last to count as the end of traffic. */
    static final int QUIET_GAPS = 10;
    /** How many arrivals make a rate to measure gaps by. */
    static final int STEADY_TRAFFIC = 3;
    /**
     * The least span the rate is measured over (from the trigger; longer when the withdrawal takes longer, shorter when
     * {@code minimum} is): long enough to catch a few arrivals of a pod that gets a few requests a second, short enough
     * not to be mostly the silence after fast consumers moved away (kube-proxy: about a second), which made a busy pod's
     * rate look sparse.
     */
    static final Duration RATE_WINDOW = Duration.ofSeconds(2);

    final Duration quietPeriod;
    final Duration minimum;
    final Duration maximum;
    private final Duration keepAliveWait;
    private final Duration pollInterval;
    private final Optional<AppConnections> connections;
    private final Optional<RecentAccepts> accepts;
    final TimeSource time;
    /** When the agent built it, at start-up: how far back the first look of a drain can tell the pod's traffic. */
    private final long createdNanos;

    Propagation(Rules rules, Duration pollInterval, Optional<AppConnections> connections, Optional<RecentAccepts> accepts, TimeSource time) {
        this.accepts = accepts;
        this.quietPeriod = rules.quietPeriod();
        this.minimum = rules.minimum();
        this.maximum = rules.maximum();
        this.keepAliveWait = rules.keepAliveWait();
        this.pollInterval = pollInterval;
        this.connections = connections;
        this.time = time;
        this.createdNanos = time.nanoTime();
    }

    /** Waits {@code delay}; traffic is not watched. */
    public static Propagation fixed(Duration delay) {
        return fixed(delay, TimeSource.SYSTEM);
    }

    /** Waits {@code delay} on {@code time}; traffic is not watched. */
    public static Propagation fixed(Duration delay, TimeSource time) {
        return new FixedPropagation(delay, new Rules(Duration.ZERO, delay, delay, delay), delay, Optional.empty(), Optional.empty(), time);
    }

    /** Waits {@code delay} and reports the traffic on {@code connections} meanwhile, judged as {@link #quiet} would. */
    public static Propagation fixed(Duration delay, Rules rules, AppConnections connections, Duration pollInterval, TimeSource time) {
        return fixed(delay, rules, connections, Optional.empty(), pollInterval, time);
    }

    /** As above; {@code accepts} tells the traffic just before the trigger (see {@link TrafficTracker#prior}). */
    public static Propagation fixed(Duration delay, Rules rules, AppConnections connections, Optional<RecentAccepts> accepts,
            Duration pollInterval, TimeSource time) {
        return new FixedPropagation(delay, rules, pollInterval, Optional.of(connections), accepts, time);
    }

    /** Ends once the traffic on {@code connections} has stopped, as {@code rules} say. */
    public static Propagation quiet(Rules rules, AppConnections connections, Duration pollInterval, TimeSource time) {
        return quiet(rules, connections, Optional.empty(), pollInterval, time);
    }

    /** As above; {@code accepts} tells the traffic just before the trigger (see {@link TrafficTracker#prior}). */
    public static Propagation quiet(Rules rules, AppConnections connections, Optional<RecentAccepts> accepts, Duration pollInterval,
            TimeSource time) {
        return new QuietPropagation(rules, pollInterval, connections, accepts, time);
    }

    /**
     * When traffic counts as stopped.
     *
     * @param quietPeriod the shortest silence that counts
     * @param minimum with too little traffic to measure a rate, the least time after the withdrawal
     * @param maximum the longest the step waits after the withdrawal
     * @param keepAliveWait how long after the withdrawal requests on connections already open still count
     */
    public record Rules(Duration quietPeriod, Duration minimum, Duration maximum, Duration keepAliveWait) {}

    /** Starts watching the application's ports (a no-op without them). Call at the start of the drain; close at the end of the step. */
    Watch watch() {
        return connections.map(Watch::new).orElseGet(Watch::new);
    }

    /** The step: waits as the mode says, within the deadline; hands the traffic seen to {@code onTraffic}. */
    abstract StepResult await(Deadline deadline, Watch watch, Consumer<TrafficReport> onTraffic) throws InterruptedException;

    /**
     * Judges the watched traffic every {@code pollInterval} from {@code start} until {@code done} accepts a judgement or
     * {@code granted} has passed; returns the last judgement, null when the table cannot be read.
     */
    final Judgement pollUntil(Watch watch, long start, Duration granted, Predicate<Judgement> done) throws InterruptedException {
        long end = start + granted.toNanos();
        while (true) {
            long now = time.nanoTime();
            Judgement judgement = watch.working() ? judge(watch.tracker, now) : null;
            if ((judgement != null && done.test(judgement)) || now - end >= 0) {
                return judgement;
            }
            time.sleep(Duration.ofNanos(Math.min(end - now, pollInterval.toNanos()))); // waiting for other systems is this step's whole job
        }
    }

    /** What the step saw, once its watch is closed: how long it waited, and the traffic (report and words) if watched. */
    record Seen(String waited, TrafficReport report, String traffic) {}

    /** Closes the watch and hands its report, as of now and with {@code judgement}'s verdict, to {@code onTraffic}. */
    final Seen finish(Watch watch, long start, Judgement judgement, Consumer<TrafficReport> onTraffic) {
        long now = time.nanoTime();
        watch.close();
        String waited = Durations.seconds(Duration.ofNanos(now - start));
        if (!watch.watching()) {
            return new Seen(waited, null, "");
        }
        TrafficReport report = watch.report(now, judgement);
        onTraffic.accept(report);
        return new Seen(waited, report, describe(report));
    }

    /** What the traffic says at {@code now}. */
    record Judgement(Duration silence, Duration required, String rule, boolean stopped) {}

    private Judgement judge(TrafficTracker tracker, long now) {
        Duration silence = tracker.silence(now);
        Long withdrawn = tracker.withdrawnNanos();
        boolean afterWithdrawal = withdrawn != null;
        Rate rate = busierRate(tracker, now);
        String lowTraffic;
        if (rate != null) {
            Duration gaps = rate.meanGap().multipliedBy(QUIET_GAPS);
            if (gaps.compareTo(quietPeriod) <= 0) {
                return new Judgement(silence, quietPeriod, "the quiet period; " + rate.basis() + ", mean gap " + Durations.format(rate.meanGap()),
                        afterWithdrawal && silence.compareTo(quietPeriod) >= 0);
            }
            if (gaps.compareTo(minimum) <= 0) {
                return new Judgement(silence, gaps, QUIET_GAPS + " mean gaps of " + rate.basis(), afterWithdrawal && silence.compareTo(gaps) >= 0);
            }
            lowTraffic = "sparse traffic: " + rate.basis() + ", mean gap " + Durations.format(rate.meanGap())
                    + ", so " + QUIET_GAPS + " gaps would be longer than the minimum; the quiet period and at least the minimum "
                    + Durations.format(minimum) + " after the withdrawal";
        } else {
            lowTraffic = "low traffic: " + tracker.rateArrivals(now) + " " + counted(tracker, now) + " measured from the trigger prove no rate, "
                    + "so also at least the minimum " + Durations.format(minimum) + " after the withdrawal";
        }
        boolean longEnough = afterWithdrawal && now - withdrawn >= minimum.toNanos();
        return new Judgement(silence, quietPeriod, lowTraffic, longEnough && silence.compareTo(quietPeriod) >= 0);
    }

    /** A rate to judge a silence by: its mean gap, and what it was taken from (for the report). */
    private record Rate(Duration meanGap, String basis) {}

    /**
     * The busier of the traffic the drain measured and the new connections just before the trigger (the drain itself
     * may see little when fast consumers moved before the preStop came); null when neither makes a rate.
     */
    private static Rate busierRate(TrafficTracker tracker, long now) {
        int arrivals = tracker.rateArrivals(now);
        Duration gap = tracker.meanGap(now);
        Rate measured = arrivals >= STEADY_TRAFFIC && gap != null
                ? new Rate(gap, "the " + arrivals + " " + counted(tracker, now) + " measured from the trigger"
                        + (arrivals >= TrafficTracker.RATE_SAMPLE ? " (in the " + Durations.format(tracker.rateSpan(now)) + " until the last)" : ""))
                : null;
        TrafficTracker.Prior prior = tracker.prior(STEADY_TRAFFIC);
        Rate before = prior == null ? null : new Rate(prior.meanGap(), prior.describe());
        if (measured == null || before == null) {
            return measured == null ? before : measured;
        }
        return before.meanGap().compareTo(measured.meanGap()) < 0 ? before : measured;
    }

    /** What the rate was taken from: every arrival while keep-alive requests count, else the new connections. */
    private static String counted(TrafficTracker tracker, long now) {
        return tracker.heldConnectionsCount(now) ? "arrivals" : "new connections";
    }

    private static String describe(TrafficReport report) {
        if (report.error() != null) {
            return "; " + report.error();
        }
        StringBuilder text = new StringBuilder("; ").append(report.newConnections()).append(" new connection(s) and ")
                .append(report.requests()).append(" request(s) on open connections since the drain started");
        if (report.lastRequestSeconds() != null) {
            text.append(", the last ").append(report.afterWithdrawal(report.lastRequestSeconds())).append("s after the withdrawal from ")
                    .append(report.lastRequestPeer()).append(" on a ").append(report.lastRequestConnection()).append(" connection");
        }
        if (report.stopped() && !report.stillSending().isEmpty()) {
            text.append("; still sending on keep-alive connections (pinned by conntrack, or a consumer lagging more than keepAliveWait): ")
                    .append(String.join(", ", report.stillSending()));
        }
        if (report.requestsBlindSpot() != null) {
            text.append("; ").append(report.requestsBlindSpot());
        }
        return text.toString();
    }

    /** The watch of one drain: a tracker fed by its own poller thread, or why the table could not be read. */
    final class Watch implements AutoCloseable {
        private final TrafficTracker tracker;
        private final AppConnections connections;
        private final Thread poller;
        private final long startNanos = time.nanoTime();
        private volatile String error;
        /** Watched ports nothing listened on as the drain started. */
        private List<Integer> unheard = List.of();

        private Watch() {
            tracker = null;
            connections = null;
            poller = null;
        }

        private Watch(AppConnections connections) {
            this.connections = connections;
            TrafficTracker started = null;
            try {
                started = TrafficTracker.start(connections, keepAliveWait, minimum.compareTo(RATE_WINDOW) < 0 ? minimum : RATE_WINDOW,
                        Duration.ofNanos(time.nanoTime() - createdNanos), accepts.flatMap(RecentAccepts::start), time, time.wallClock());
            } catch (IOException e) {
                error = "cannot read the TCP connection table: " + e.getMessage();
            }
            tracker = started;
            if (tracker != null) {
                unheard = unheard(connections);
                poller = time.start("lameduck-traffic", this::pollUntilClosed);
            } else {
                poller = null;
            }
        }

        /** The watched ports without a listener, warned about; none when that cannot be told. */
        private static List<Integer> unheard(AppConnections connections) {
            try {
                Set<Integer> listening = connections.listening();
                List<Integer> unheard = connections.ports().stream().filter(port -> !listening.contains(port)).toList();
                if (!unheard.isEmpty()) {
                    LOG.warn("nothing listens on watched port(s) {} as the drain starts: the drain cannot see the app's traffic there; "
                            + "set drain.propagation.ports (or the pod's lameduck.io/ports) to the ports the app listens on", unheard);
                }
                return unheard;
            } catch (IOException e) {
                return List.of(); // the poller reports an unreadable table
            }
        }

        private void pollUntilClosed() {
            try {
                while (!Thread.currentThread().isInterrupted() && working()) {
                    try {
                        tracker.poll();
                    } catch (InterruptedIOException e) {
                        return; // closed while reading: that poll is abandoned, not an error
                    } catch (IOException e) {
                        error = "cannot read the TCP connection table: " + e.getMessage();
                        return;
                    }
                    time.sleep(pollInterval);
                }
            } catch (InterruptedException e) {
                // closed
            }
        }

        boolean watching() {
            return connections != null;
        }

        /** Why the table could not be read; null while it can. */
        String error() {
            return error;
        }

        boolean working() {
            return tracker != null && error == null;
        }

        void withdrawn(long nanos) {
            if (tracker != null) {
                tracker.withdrawn(nanos);
            }
        }

        /** Requests on open connections count until the step ends (see {@link TrafficTracker#countHeldConnectionsUntilStopped}). */
        void countHeldConnectionsUntilStopped() {
            if (tracker != null) {
                tracker.countHeldConnectionsUntilStopped();
            }
        }

        /** When the EndpointSlices first showed the pod not ready (see {@link TrafficTracker#notReady}). */
        void notReady(long nanos) {
            if (tracker != null) {
                tracker.notReady(nanos);
            }
        }

        TrafficReport report(long now, Judgement judgement) {
            if (tracker == null) {
                return TrafficTracker.unreadable(connections, TrafficTracker.seconds(now - startNanos), error);
            }
            TrafficTracker.Verdict verdict = judgement == null
                    ? new TrafficTracker.Verdict(null, null, false, List.of())
                    : new TrafficTracker.Verdict(judgement.required(), judgement.rule(), judgement.stopped(),
                            tracker.stillSending(now, judgement.required()));
            TrafficReport report = tracker.report(now, verdict).withUnheardPorts(unheard);
            return error == null ? report : report.withError(error);
        }

        /** Stops the poller and waits for it, so no poll runs after the step. */
        @Override
        public void close() {
            if (poller != null) {
                poller.interrupt();
                try {
                    poller.join(Duration.ofSeconds(5).toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
