package io.lameduck.drain;

import io.lameduck.sockets.AppConnections.Connection;
import io.lameduck.sockets.AppConnections.Received;
import io.lameduck.sockets.AppConnections;
import io.lameduck.time.Durations;
import io.lameduck.time.Ticker;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Traffic to the application's ports, watched from the start of the drain: <b>arrivals</b> are new connections (a
 * 4-tuple not there at the previous poll) and requests on connections already open (their received byte count grew;
 * the kernel says how long ago the data came). A consumer that pools keep-alive connections, as every ingress
 * controller, mesh and L7 load balancer does, sends requests without opening connections: only the second kind
 * shows it. With the kernel's count of the connections the app accepted ({@link RecentAccepts}), the ones the table
 * never showed are new connections too (see {@link #poll}).
 *
 * <p>Which arrivals count toward "traffic has not stopped": all of them until {@code keepAliveWait} after the
 * endpoints turned not ready (or the withdrawal was confirmed, if that was not seen first). After that, requests on connections that were already open no longer do: they come
 * either from a client that conntrack pins to the pod (it sends on that connection until the app closes it, which
 * waiting does not change) or from a consumer that lags by more than {@code keepAliveWait}; the two cannot be told
 * apart from the pod, and {@link #stillSending} names them. New connections, and requests on connections opened
 * after that moment, always count: something still chooses this pod. When the drain knows that an L7 consumer
 * pools connections to the pod (an Ingress routes to it: {@link #countHeldConnectionsUntilStopped}), requests on open
 * connections count for as long as they come: waiting is then what moves that consumer.
 *
 * <p>Memory follows the number of open connections and peers, not of connections seen. Thread-safe: a poller
 * thread feeds it while the drain's steps read it.
 */
final class TrafficTracker {
    private static final long NEVER = Long.MAX_VALUE;

    private final AppConnections connections;
    private final Ticker ticker;
    private final Instant startedAt;
    private final long startNanos;
    private final Duration keepAliveWait;
    private final Duration rateWindow;
    private int rateArrivals; // arrivals within the rate window
    private int rateNewConnections; // new connections within the rate window
    private long lastRateArrival = NEVER; // the latest of those arrivals
    private long lastRateNewConnection = NEVER; // the latest of those new connections
    private Map<Connection, Open> open = new HashMap<>();
    private long withdrawnNanos = NEVER;
    private long notReadyNanos = NEVER;
    private boolean heldUntilStopped; // requests on open connections count until the step ends, not keepAliveWait
    private int newConnections;
    private int requests;
    private int arrivalsAfterWithdrawal;
    private Arrival lastNew;
    private Arrival lastRequest; // either kind
    private long lastCountedAfterWindow = -1; // new connections, and requests on connections opened after the window
    private final Map<InetAddress, Source> sources = new HashMap<>();
    private final int closedBefore; // connections the app had closed before the start, still in TIME_WAIT
    private final Duration history; // how long before the start those can have been closed
    private final DatedCloses dated; // when the reader dated every one of those closes; null otherwise
    private final RecentAccepts.Count accepts; // the kernel's count of the app's accepted connections; null when not known
    private final RecentAccepts.Accepted accepted; // of them, those just before the start; null when not known
    private int tableNew; // 4-tuples the table showed that were not there at the first look
    private long unseen; // connections the app accepted that the table never showed, counted as arrivals so far

    /** How long Linux keeps a connection its side closed first in TIME_WAIT (TCP_TIMEWAIT_LEN). */
    static final Duration TIME_WAIT = Received.TIME_WAIT;
    /** The least history a rate before the start is taken over: a young pod's few closes are no rate. */
    static final Duration LEAST_HISTORY = Duration.ofSeconds(10);
    /**
     * How many arrivals make a rate sure enough to be taken over the span they came in rather than a fixed one: over a
     * fixed span, the silence after fast consumers moved away (kube-proxy: within a second) counts as part of the
     * traffic and makes it look sparse; with fewer arrivals than this, a burst would look like a busy stream.
     */
    static final int RATE_SAMPLE = 10;

    /**
     * One open connection: when it was first seen, what it had received at the last look, and whether it is still
     * waiting for its first byte (then it is not an arrival yet: a load balancer's TCP health check connects and
     * closes without sending anything, and is no traffic).
     */
    private record Open(long firstSeenNanos, Received received, boolean awaitingData) {}

    /** One arrival: when, from whom (null: a connection the kernel counted and the table never showed), and whether it opened the connection. */
    record Arrival(long nanos, Connection connection, boolean newConnection) {}

    /** The peer named for an arrival only the kernel's count showed. */
    static final String UNSEEN_PEER = "unknown (a connection the client closed before the next look)";

    private static final class Source {
        int newConnections;
        int requests;
        long lastNanos;
    }

    private TrafficTracker(AppConnections connections, Duration keepAliveWait, Duration rateWindow, Duration uptime,
            Optional<RecentAccepts.Count> accepts, Ticker ticker, Clock clock) throws IOException {
        this.connections = connections;
        this.accepts = accepts.orElse(null);
        this.accepted = accepts.flatMap(RecentAccepts.Count::before).orElse(null);
        this.keepAliveWait = keepAliveWait;
        this.rateWindow = rateWindow;
        this.ticker = ticker;
        this.startedAt = clock.instant();
        this.startNanos = ticker.nanoTime();
        int closed = 0;
        List<Duration> ages = new ArrayList<>();
        for (Map.Entry<Connection, Received> each : connections.now().entrySet()) {
            open.put(each.getKey(), new Open(startNanos, each.getValue(), false));
            if (each.getValue().closedByApp()) {
                closed++;
                each.getValue().closedAgo().ifPresent(ages::add);
            }
        }
        this.closedBefore = closed;
        this.dated = closed > 0 && ages.size() == closed ? DatedCloses.of(ages) : null;
        this.history = uptime.compareTo(TIME_WAIT) > 0 ? TIME_WAIT : uptime.compareTo(LEAST_HISTORY) < 0 ? LEAST_HISTORY : uptime;
    }

    /**
     * The rate of new connections just before the start, from the first look alone: the connections the app closed
     * first (after {@code Connection: close}, once per request of a client without keep-alive), which Linux keeps in
     * TIME_WAIT for a minute. When the reader dates each close (ss: the time its TIME_WAIT has left), the rate is taken
     * over the span they were closed in: n closes, the oldest {@code a} ago, make n - 1 gaps in {@code a}. That needs
     * closes in at least {@code steady} different seconds with no one second holding half of them: a burst (an idle
     * timeout closing the pooled connections at once) is no rate. Otherwise it is taken over the minute, or the
     * agent's uptime when shorter (at least {@link #LEAST_HISTORY}), which is not the span of the closes: an agent
     * restarted beside a busy app sees a minute of them in its first seconds (a rate up to six times too high), and a
     * pod that served for part of its life has its rate made too low. A lower bound either way (a client that closes
     * first leaves no trace here), so the silence it asks for is, if anything, longer than needed. It matters when
     * fast consumers moved away before the drain was even triggered (kube-proxy follows a deletion within a second or
     * two; the preStop comes about as late): then the drain sees almost nothing and cannot measure a rate, although
     * the pod was busy a moment ago. Keep-alive traffic is no guide here: once the app leaves, each pooled connection
     * closes after its next request, and a lagging consumer keeps sending only what it connects anew. Null with fewer
     * than {@code steady} closed connections.
     *
     * <p>The kernel's count of the connections the app accepted just before the start ({@link RecentAccepts}) sees
     * every new connection, whoever closed it; with at least {@link #RATE_SAMPLE} of them it sets the rate when it is
     * the busier (n connections in the span counted make n gaps: a lower bound again). Null when neither makes a rate.
     */
    synchronized Prior prior(int steady) {
        Prior closes = closedBefore < steady ? null
                : dated != null && dated.spreadOut(steady, closedBefore) ? Prior.closes(dated.oldest().dividedBy(closedBefore - 1), closedBefore, dated.oldest())
                : Prior.closes(history.dividedBy(closedBefore), closedBefore, history);
        Prior opened = accepted == null || accepted.count() < Math.max(steady, RATE_SAMPLE) ? null
                : Prior.accepted(accepted.span().dividedBy(accepted.count()), accepted.count(), accepted.span());
        if (closes == null || opened == null) {
            return closes == null ? opened : closes;
        }
        return opened.meanGap().compareTo(closes.meanGap()) < 0 ? opened : closes;
    }

    /**
     * What the first look's dated closes say, taken once (the prior is asked at every poll): the oldest one's age, in
     * how many different seconds they fell, and how many the busiest second held.
     */
    private record DatedCloses(Duration oldest, int seconds, int busiestSecond) {
        static DatedCloses of(List<Duration> closedAgo) {
            Map<Long, Integer> perSecond = new HashMap<>();
            closedAgo.forEach(ago -> perSecond.merge(ago.toSeconds(), 1, Integer::sum));
            return new DatedCloses(closedAgo.stream().max(Comparator.naturalOrder()).orElseThrow(), perSecond.size(),
                    perSecond.values().stream().max(Comparator.naturalOrder()).orElseThrow());
        }

        /** Whether the {@code closes} fell in at least {@code seconds} different seconds, none holding half of them. */
        boolean spreadOut(int seconds, int closes) {
            return this.seconds >= seconds && 2 * busiestSecond < closes;
        }
    }

    /** The new connections before the start (see {@link #prior}): their mean gap, and what it was taken from in words. */
    record Prior(Duration meanGap, String describe) {
        static Prior closes(Duration meanGap, int closed, Duration history) {
            return new Prior(meanGap, "the new connections before the trigger (" + closed + " the app closed in the last "
                    + Durations.format(history) + ")");
        }

        static Prior accepted(Duration meanGap, long accepted, Duration span) {
            return new Prior(meanGap, "the new connections before the trigger (" + accepted + " the app accepted in the last "
                    + Durations.format(span) + ", the kernel's count)");
        }
    }

    /**
     * Starts watching now: the connections open at this moment are not new; later data on them is a request. The
     * rate of arrivals is measured from now until {@code rateWindow} has passed or the withdrawal, whichever is
     * later: the traffic before consumers could move away, not the stragglers (kubelet probes) after.
     */
    static TrafficTracker start(AppConnections connections, Duration keepAliveWait, Duration rateWindow, Ticker ticker, Clock clock)
            throws IOException {
        return start(connections, keepAliveWait, rateWindow, TIME_WAIT, ticker, clock);
    }

    /** As above, for an agent that has been up for {@code uptime} (the span its first look can tell a rate over). */
    static TrafficTracker start(AppConnections connections, Duration keepAliveWait, Duration rateWindow, Duration uptime,
            Ticker ticker, Clock clock) throws IOException {
        return start(connections, keepAliveWait, rateWindow, uptime, Optional.empty(), ticker, clock);
    }

    /**
     * As above, with the kernel's count of the connections the app accepts ({@link RecentAccepts#start}, taken just
     * before): the rate just before the start ({@link #prior}), and the new connections the table never shows.
     */
    static TrafficTracker start(AppConnections connections, Duration keepAliveWait, Duration rateWindow, Duration uptime,
            Optional<RecentAccepts.Count> accepts, Ticker ticker, Clock clock) throws IOException {
        return new TrafficTracker(connections, keepAliveWait, rateWindow, uptime, accepts, ticker, clock);
    }

    /**
     * Reads the table once and records what arrived since the previous poll. With the kernel's count, the connections
     * the app accepted beyond the new ones the table ever showed are arrivals too, now: a client that closes first
     * takes the app's side of its connection out of the table within milliseconds (no TIME_WAIT there), so most of a
     * no-keep-alive client's connections come and go between two looks (the benchmark: the table showed 3 a second of
     * the 8 a pod accepted). The count is read before the table, so a connection that comes between the two reads is
     * the table's, never counted twice.
     */
    void poll() throws IOException {
        long acceptedSince = acceptedSinceStart();
        Map<Connection, Received> current = connections.now();
        long now = ticker.nanoTime();
        synchronized (this) {
            Map<Connection, Open> next = new HashMap<>();
            for (Map.Entry<Connection, Received> each : current.entrySet()) {
                Connection connection = each.getKey();
                Received received = each.getValue();
                Open before = open.get(connection);
                if (before == null) {
                    tableNew++;
                    boolean empty = received.known() && received.bytes() == 0;
                    next.put(connection, new Open(now, received, empty));
                    if (!empty) {
                        arrived(new Arrival(now, connection, true), now);
                    }
                    continue;
                }
                // An unknown reading keeps the last known one (a reader that failed over to /proc knows nothing);
                // a close by the app is kept, so that it counts once.
                next.put(connection, new Open(before.firstSeenNanos(),
                        received.known() || received.closedByApp() ? received : before.received(),
                        before.awaitingData() && received.known() && received.bytes() == 0));
                if (before.awaitingData() && !(received.known() && received.bytes() == 0)) {
                    // its first data, or it left TCP_INFO's view (TIME_WAIT) having perhaps sent some: a new connection's arrival
                    long at = received.known() ? Math.max(now - received.sinceLastData().toNanos(), before.firstSeenNanos()) : now;
                    arrived(new Arrival(Math.min(at, now), connection, true), before.firstSeenNanos());
                } else if (received.closedByApp() && before.received().known()) {
                    // The app closed an open connection since the last look: an HTTP server does that right after it
                    // answered a request with Connection: close (an app leaving does it on every connection), and the
                    // request came and went between two polls. Counted as one, now; an idle timeout is counted too,
                    // which only waits a little longer. Not in the rate: it ended its connection, and says nothing of
                    // the traffic to come (an app that leaves closes every pooled connection so, all at once).
                    arrived(new Arrival(now, connection, false), before.firstSeenNanos(), false);
                } else if (received.known() && before.received().known() && received.bytes() > before.received().bytes()) {
                    // The kernel's clock says when the data came, more precisely than the poll interval.
                    long at = Math.max(now - received.sinceLastData().toNanos(), before.firstSeenNanos());
                    arrived(new Arrival(Math.min(at, now), connection, false), before.firstSeenNanos());
                }
            }
            open = next;
            for (; unseen < acceptedSince - tableNew; unseen++) {
                arrived(new Arrival(now, null, true), now);
            }
        }
    }

    /** The app's connections accepted since the start by the kernel's count; -1 without one (or when it cannot be read now). */
    private long acceptedSinceStart() {
        if (accepts == null) {
            return -1;
        }
        try {
            return accepts.sinceStart();
        } catch (IOException e) {
            return -1; // this look sees only the table; the count is not lost, the next look catches up
        }
    }

    private void arrived(Arrival arrival, long connectionFirstSeen) {
        arrived(arrival, connectionFirstSeen, true);
    }

    private void arrived(Arrival arrival, long connectionFirstSeen, boolean inRate) {
        if (inRate && arrival.nanos() <= rateWindowEnd()) {
            rateArrivals++;
            lastRateArrival = lastRateArrival == NEVER ? arrival.nanos() : Math.max(lastRateArrival, arrival.nanos());
            if (arrival.newConnection()) {
                rateNewConnections++;
                lastRateNewConnection = lastRateNewConnection == NEVER ? arrival.nanos() : Math.max(lastRateNewConnection, arrival.nanos());
            }
        }
        if (arrival.newConnection()) {
            newConnections++;
            if (lastNew == null || arrival.nanos() >= lastNew.nanos()) {
                lastNew = arrival;
            }
        } else {
            requests++;
        }
        if (withdrawnNanos != NEVER && arrival.nanos() > withdrawnNanos) {
            arrivalsAfterWithdrawal++;
        }
        if (lastRequest == null || arrival.nanos() >= lastRequest.nanos()) {
            lastRequest = arrival;
        }
        if (arrival.newConnection() || connectionFirstSeen >= windowEnd()) {
            lastCountedAfterWindow = Math.max(lastCountedAfterWindow, arrival.nanos());
        }
        if (arrival.connection() == null) {
            return; // an unseen connection: no peer to name
        }
        Source source = sources.computeIfAbsent(arrival.connection().peerAddress(), a -> new Source());
        if (arrival.newConnection()) {
            source.newConnections++;
        } else {
            source.requests++;
        }
        source.lastNanos = Math.max(source.lastNanos, arrival.nanos());
    }

    /** The moment the withdrawal was confirmed (or its step ended): the clock of {@code keepAliveWait} starts. */
    synchronized void withdrawn(long nanos) {
        if (withdrawnNanos == NEVER) {
            withdrawnNanos = nanos;
        }
    }

    /**
     * When the EndpointSlices first showed the pod not ready: the moment consumers start to move away, which can come
     * before the withdrawal is confirmed ({@code serving=false}). The clock of {@code keepAliveWait} starts at the
     * earlier of the two.
     */
    synchronized void notReady(long nanos) {
        if (notReadyNanos == NEVER) {
            notReadyNanos = nanos;
        }
    }

    /**
     * From now on requests on connections already open count until the step ends, not only until {@code keepAliveWait}:
     * an L7 consumer is known to pool connections to the pod (an Ingress routes to it), and it sends on them until it
     * applies the endpoint change, however late; a drain that stopped counting them would let the app leave under it.
     */
    synchronized void countHeldConnectionsUntilStopped() {
        heldUntilStopped = true;
    }

    /** Empty until {@link #withdrawn} was called. */
    synchronized Long withdrawnNanos() {
        return withdrawnNanos == NEVER ? null : withdrawnNanos;
    }

    private long rateWindowEnd() {
        long least = startNanos + rateWindow.toNanos();
        return withdrawnNanos == NEVER ? NEVER : Math.max(withdrawnNanos, least);
    }

    private long windowEnd() {
        return withdrawnNanos == NEVER || heldUntilStopped ? NEVER : Math.min(withdrawnNanos, notReadyNanos) + keepAliveWait.toNanos();
    }

    /** Whether requests on already-open connections still count at {@code nanos}. */
    synchronized boolean heldConnectionsCount(long nanos) {
        return nanos < windowEnd();
    }

    /** The last arrival that counts at {@code now}; -1 when none does. */
    synchronized long lastCounted(long now) {
        if (heldConnectionsCount(now)) {
            return lastRequest == null ? -1 : lastRequest.nanos();
        }
        return lastCountedAfterWindow;
    }

    /** How long the traffic that counts at {@code now} has been silent (since the start when none came). */
    synchronized Duration silence(long now) {
        long last = lastCounted(now);
        return Duration.ofNanos(Math.max(0, now - (last < 0 ? startNanos : last)));
    }

    /** Arrivals of either kind so far. */
    synchronized int arrivals() {
        return newConnections + requests;
    }

    /**
     * The arrivals of the rate window (so far, while it lasts) of the kind that counts at {@code now}: all of them
     * while requests on open connections count, else only the new connections. The silence that ends the drain is
     * judged by the rate of what it waits for: after {@code keepAliveWait} the busy keep-alive connections no longer
     * count, and a rate taken from their requests would make a gap in the far sparser new connections look long.
     */
    synchronized int rateArrivals(long now) {
        return heldConnectionsCount(now) ? rateArrivals : rateNewConnections;
    }

    /** The mean gap between the arrivals that count at {@code now} (see {@link #rateArrivals}) over {@link #rateSpan}; null with none. */
    synchronized Duration meanGap(long now) {
        int n = rateArrivals(now);
        if (n == 0) {
            return null;
        }
        return rateSpan(now).dividedBy(n);
    }

    /**
     * The span the rate at {@code now} is taken over: the rate window so far; with at least {@link #RATE_SAMPLE}
     * arrivals, from the start to the last of them. n arrivals in that span make n gaps, the first from the start:
     * the rate the traffic had while it came, not diluted by the silence after consumers moved away, which is the very
     * silence it is to judge.
     */
    synchronized Duration rateSpan(long now) {
        long end = Math.min(now, rateWindowEnd());
        if (rateArrivals(now) >= RATE_SAMPLE) {
            end = Math.min(end, heldConnectionsCount(now) ? lastRateArrival : lastRateNewConnection);
        }
        return Duration.ofNanos(Math.max(end - startNanos, 1));
    }

    /** Peers whose last arrival, of any kind, is within {@code recent} of {@code now}: the ones still sending. */
    synchronized List<String> stillSending(long now, Duration recent) {
        return mostRecentSources().filter(e -> now - e.getValue().lastNanos < recent.toNanos())
                .limit(TrafficReport.SOURCES_SHOWN)
                .map(e -> e.getKey().getHostAddress())
                .toList();
    }

    /** The peers, the one that sent last first. */
    private java.util.stream.Stream<Map.Entry<InetAddress, Source>> mostRecentSources() {
        return sources.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<InetAddress, Source> e) -> e.getValue().lastNanos).reversed());
    }

    /** The report as of {@code now}, with the verdict of the step that watched. */
    synchronized TrafficReport report(long now, Verdict verdict) {
        List<TrafficReport.Source> shown = mostRecentSources()
                .limit(TrafficReport.SOURCES_SHOWN)
                .map(e -> new TrafficReport.Source(e.getKey().getHostAddress(), e.getValue().newConnections,
                        e.getValue().requests, seconds(e.getValue().lastNanos - startNanos)))
                .toList();
        return new TrafficReport(connections.ports(), connections.requestsBlindSpot(), seconds(now - startNanos),
                withdrawnNanos == NEVER ? null : seconds(withdrawnNanos - startNanos),
                newConnections, at(lastNew), instant(lastNew), peer(lastNew),
                requests, at(lastRequest), instant(lastRequest), peer(lastRequest),
                lastRequest == null ? null : lastRequest.newConnection() ? "new" : "reused",
                seconds(silence(now).toNanos()), verdict.required() == null ? null : seconds(verdict.required().toNanos()),
                verdict.rule(), verdict.stopped(), verdict.stillSending(), shown, null, List.of(), arrivalsAfterWithdrawal,
                accepts == null ? null : unseen);
    }

    /** A report for a table that could not be read at all. */
    static TrafficReport unreadable(AppConnections connections, double watchedSeconds, String error) {
        return new TrafficReport(connections.ports(), connections.requestsBlindSpot(), watchedSeconds, null, 0, null, null,
                null, 0, null, null, null, null, 0, null, null, false, List.of(), List.of(), error);
    }

    /**
     * What the step concluded from the traffic.
     *
     * @param required how long the counted traffic had to be silent; null when no rule applied (fixed mode)
     * @param rule which rule set {@code required}, in words
     * @param stopped whether the counted traffic was silent for {@code required} when the step ended
     * @param stillSending peers that were still sending when the step ended (counted or not)
     */
    record Verdict(Duration required, String rule, boolean stopped, List<String> stillSending) {}

    private Double at(Arrival arrival) {
        return arrival == null ? null : seconds(arrival.nanos() - startNanos);
    }

    private Instant instant(Arrival arrival) {
        return arrival == null ? null : startedAt.plusNanos(arrival.nanos() - startNanos);
    }

    private static String peer(Arrival arrival) {
        if (arrival == null) {
            return null;
        }
        if (arrival.connection() == null) {
            return UNSEEN_PEER;
        }
        InetAddress address = arrival.connection().peerAddress();
        String host = address.getHostAddress();
        return (address instanceof Inet6Address ? "[" + host + "]" : host) + ":" + arrival.connection().peerPort();
    }

    static double seconds(long nanos) {
        return Math.round(nanos / 1e6) / 1e3;
    }
}
