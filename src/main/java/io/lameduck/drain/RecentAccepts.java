package io.lameduck.drain;

import io.lameduck.time.Ticker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many connections the application accepted in the seconds before a drain: the kernel's count of accepted
 * connections in the pod's network namespace ({@code PassiveOpens}), sampled every {@link #SAMPLE_EVERY}, less those
 * the agent's own port accepted (probes, scrapes, {@code /prestop}). A drain takes the traffic's rate just before its
 * trigger from it ({@link TrafficTracker#prior}): on a fast data plane kube-proxy moves new connections away about as
 * soon as the preStop arrives, so the drain itself sees too little to measure, and the connections the app closed
 * first (TIME_WAIT) show only the clients that did not close first, about half of them.
 *
 * <p>The count is the pod's, not a port's, so it is the app's only when nothing else in the pod listens: a drain
 * that finds a listener on a port that is neither the app's watched ports nor the agent's gets nothing from here
 * (another container's connections would make the app's traffic look busier than it was, and the silence that ends
 * the drain too short). Connections that never send a byte (a TCP health check) are counted too; a kubelet probe of
 * the app is, as the drain counts it. Thread-safe: a timer samples, a drain reads.
 */
public final class RecentAccepts {
    private static final Logger LOG = LoggerFactory.getLogger(RecentAccepts.class);

    /** How often the count is sampled: a file read of about 1.5 KiB. */
    public static final Duration SAMPLE_EVERY = Duration.ofSeconds(5);
    /** The least span a count is taken over: fewer seconds hold too few connections to be a rate. */
    static final Duration LEAST_SPAN = Duration.ofSeconds(5);
    /** Samples kept: the newest at least {@link #LEAST_SPAN} old is at most two periods older than that. */
    private static final int KEPT = 3;

    /** The kernel's count, readable at any time. */
    @FunctionalInterface
    public interface KernelCount {
        long read() throws IOException;
    }

    /** The ports listening in the pod's network namespace, any address. */
    @FunctionalInterface
    public interface Listeners {
        Set<Integer> ports() throws IOException;
    }

    /** The application's accepted connections over {@code span}, just before a drain. */
    public record Accepted(long count, Duration span) {}

    private record Sample(long nanos, long kernel, long agent) {}

    private final KernelCount kernel;
    private final LongSupplier agentAccepted;
    private final Listeners listeners;
    private final Set<Integer> appPorts;
    private final IntSupplier agentPort;
    private final Ticker ticker;
    private final Deque<Sample> samples = new ArrayDeque<>();

    /**
     * @param agentAccepted the connections the agent's own server accepted so far
     * @param appPorts the ports the drain watches
     * @param agentPort the port the agent's own server listens on
     */
    public RecentAccepts(KernelCount kernel, LongSupplier agentAccepted, Listeners listeners, Set<Integer> appPorts,
            IntSupplier agentPort, Ticker ticker) {
        this.kernel = kernel;
        this.agentAccepted = agentAccepted;
        this.listeners = listeners;
        this.appPorts = Set.copyOf(appPorts);
        this.agentPort = agentPort;
        this.ticker = ticker;
    }

    /** Takes a sample; every {@link #SAMPLE_EVERY}. A count that cannot be read leaves the samples as they were. */
    public void sample() {
        try {
            long agent = agentAccepted.getAsLong();
            Sample sample = new Sample(ticker.nanoTime(), kernel.read(), agent);
            synchronized (this) {
                samples.addLast(sample);
                while (samples.size() > KEPT) {
                    samples.removeFirst();
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot sample the kernel's count of accepted connections: {}", e.getMessage());
        }
    }

    /*
     * The kernel counts a connection when its handshake completes, the agent's server once it has accepted it, so the
     * agent's count lags. A sample (and a drain's start) reads the agent's count first, a reading that ends a span reads
     * it last, so a connection to the agent that comes between the two reads lowers the app's count: a rate too low
     * asks for a longer silence, not a shorter one, and a connection missed is one the drain's table may still see.
     * One still waiting in the agent's accept queue at a reading raises it by one: the agent's port gets a few
     * connections a second, so that is rare and one at most.
     */

    /**
     * The count for a drain starting now: the app's connections over the seconds before ({@link Count#before}) and,
     * at each look, since now ({@link Count#sinceStart}). Empty when the count cannot be read, or when something other
     * than the app and the agent listens in the pod (then the count is not the app's alone).
     */
    public Optional<Count> start() {
        try {
            Set<Integer> foreign = new TreeSet<>(listeners.ports());
            foreign.removeAll(appPorts);
            foreign.remove(agentPort.getAsInt());
            if (!foreign.isEmpty()) {
                LOG.info("port(s) {} listen in the pod besides the app's {} and the agent's {}: the kernel's count of accepted connections "
                        + "is not the app's alone, so this drain sees only the connections the socket table shows", foreign, appPorts,
                        agentPort.getAsInt());
                return Optional.empty();
            }
            long agent = agentAccepted.getAsLong();
            Sample start = new Sample(ticker.nanoTime(), kernel.read(), agent);
            return Optional.of(new Count(start, before(start)));
        } catch (IOException e) {
            LOG.info("cannot read the kernel's count of accepted connections ({}): this drain sees only the connections the socket "
                    + "table shows", e.getMessage());
            return Optional.empty();
        }
    }

    /** From the newest sample at least {@link #LEAST_SPAN} older than {@code start}; empty when there is none (an agent up for less). */
    private synchronized Optional<Accepted> before(Sample start) {
        for (Iterator<Sample> newestFirst = samples.descendingIterator(); newestFirst.hasNext(); ) {
            Sample from = newestFirst.next();
            if (start.nanos() - from.nanos() >= LEAST_SPAN.toNanos()) {
                long count = (start.kernel() - from.kernel()) - (start.agent() - from.agent());
                return count < 0 ? Optional.empty() : Optional.of(new Accepted(count, Duration.ofNanos(start.nanos() - from.nanos())));
            }
        }
        return Optional.empty();
    }

    /** The app's accepted connections as one drain sees them. */
    public final class Count {
        private final Sample start;
        private final Optional<Accepted> before;

        private Count(Sample start, Optional<Accepted> before) {
            this.start = start;
            this.before = before;
        }

        /** Over the seconds before the drain started; empty until a sample is old enough, or when the count went back. */
        public Optional<Accepted> before() {
            return before;
        }

        /**
         * Since the drain started: every connection the app accepted, also those the socket table never shows (a client
         * that closed first takes the app's side of the connection out of the table within milliseconds, between two
         * looks).
         */
        public long sinceStart() throws IOException {
            long kernelNow = kernel.read();
            return (kernelNow - start.kernel()) - (agentAccepted.getAsLong() - start.agent());
        }
    }
}
