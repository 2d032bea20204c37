package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.lameduck.config.Cidr;
import io.lameduck.sockets.AppConnections.Connection;
import io.lameduck.sockets.AppConnections.Received;
import io.lameduck.sockets.AppConnections;
import io.lameduck.time.Ticker;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The tracker's rules on simulated time, with a scripted connection table standing in for the kernel (exact and
 * instant); and once against real connections on loopback through the real readers.
 */
class TrafficTrackerTest {
    private static final Duration KEEP_ALIVE_WAIT = Duration.ofSeconds(5);
    private static final Duration RATE_WINDOW = Duration.ofSeconds(2);
    private long now = 1_000_000_000L;
    private final Ticker ticker = () -> now;
    private final ScriptedConnections table = ScriptedConnections.onPort8080();

    private static Connection from(String peer, int port) throws IOException {
        return new Connection(InetAddress.getByName("10.244.0.5"), 8080, InetAddress.getByName(peer), port);
    }

    private void advance(Duration by) {
        now += by.toNanos();
    }

    @Test
    void newConnectionsAndRequestsOnOpenOnesAreArrivalsTimedByTheKernel() throws Exception {
        Connection pooled = from("10.244.0.9", 40000);
        table.connections.put(pooled, new Received(100, Duration.ofSeconds(3)));
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());

        advance(Duration.ofMillis(100));
        table.connections.put(pooled, new Received(300, Duration.ofMillis(40))); // a request on the pooled connection, 40 ms ago
        tracker.poll();
        assertThat(tracker.arrivals()).isEqualTo(1);
        assertThat(tracker.silence(now)).isEqualTo(Duration.ofMillis(40));

        advance(Duration.ofMillis(100));
        table.connections.put(from("10.244.0.1", 50000), new Received(80, Duration.ofMillis(10))); // a kubelet probe
        tracker.poll();
        advance(Duration.ofMillis(100));
        tracker.poll(); // nothing new

        TrafficReport report = tracker.report(now, new TrafficTracker.Verdict(Duration.ofSeconds(1), "test", false, List.of()));
        assertThat(report.newConnections()).isEqualTo(1);
        assertThat(report.requests()).isEqualTo(1);
        assertThat(report.lastRequestPeer()).isEqualTo("10.244.0.1:50000");
        assertThat(report.lastRequestConnection()).isEqualTo("new");
        assertThat(report.lastRequestSeconds()).isEqualTo(0.2);
        assertThat(report.lastNewConnectionSeconds()).isEqualTo(0.2);
        assertThat(report.quietSeconds()).isEqualTo(0.1);
        assertThat(report.sources()).extracting(TrafficReport.Source::address, TrafficReport.Source::newConnections, TrafficReport.Source::requests)
                .containsExactly(tuple("10.244.0.1", 1, 0), tuple("10.244.0.9", 0, 1));
    }

    @Test
    void requestsOnConnectionsAlreadyOpenCountUntilKeepAliveWaitAfterTheWithdrawal() throws Exception {
        Connection pinned = from("10.244.0.9", 40000);
        table.connections.put(pinned, new Received(0, Duration.ofSeconds(1)));
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        tracker.withdrawn(now);
        long bytes = 0;
        for (int i = 0; i < 70; i++) { // a request every 100 ms for 7 s, on the one connection
            advance(Duration.ofMillis(100));
            bytes += 200;
            table.connections.put(pinned, new Received(bytes, Duration.ZERO));
            tracker.poll();
            if (i == 40) {
                assertThat(tracker.silence(now)).as("within keepAliveWait the keep-alive requests count").isZero();
            }
        }
        assertThat(tracker.heldConnectionsCount(now)).isFalse();
        assertThat(tracker.silence(now)).as("after keepAliveWait they do not: nothing else ever arrived")
                .isEqualTo(Duration.ofSeconds(7));
        assertThat(tracker.stillSending(now, Duration.ofSeconds(1))).containsExactly("10.244.0.9");

        table.connections.put(from("10.244.0.9", 40001), new Received(100, Duration.ZERO)); // but a new connection always counts
        advance(Duration.ofMillis(100));
        tracker.poll();
        assertThat(tracker.silence(now)).isZero();
        // Every one arrived after the withdrawal, counted or not toward the silence: 70 requests and the new connection.
        assertThat(tracker.report(now, new TrafficTracker.Verdict(null, null, false, List.of())).arrivalsAfterWithdrawal()).isEqualTo(71);
    }

    @Test
    void keepAliveWaitCountsFromTheEndpointsTurningNotReadyWhenThatCameFirst() throws Exception {
        Connection pinned = from("10.244.0.9", 40000);
        table.connections.put(pinned, new Received(0, Duration.ofSeconds(1)));
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        tracker.notReady(now); // consumers told at once (a deleted pod is ready=false at the first look) ...
        advance(Duration.ofSeconds(2));
        tracker.withdrawn(now); // ... the withdrawal confirmed (serving=false) two seconds later
        advance(Duration.ofMillis(2999));
        assertThat(tracker.heldConnectionsCount(now)).isTrue();
        advance(Duration.ofMillis(1));
        assertThat(tracker.heldConnectionsCount(now)).as("5 s after not ready, not after the confirmation").isFalse();
    }

    @Test
    void aNewConnectionIsAnArrivalOnlyOnceItSendsData() throws Exception {
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        Connection check = from("10.244.0.1", 50000);
        Connection client = from("10.244.0.9", 50001);
        table.connections.put(check, new Received(0, Duration.ZERO)); // a TCP health check: connects, sends nothing
        table.connections.put(client, new Received(0, Duration.ZERO));
        advance(Duration.ofMillis(100));
        tracker.poll();
        assertThat(tracker.arrivals()).isZero();
        table.connections.remove(check); // closed without a byte: never traffic
        table.connections.put(client, new Received(120, Duration.ofMillis(30))); // its request
        advance(Duration.ofMillis(100));
        tracker.poll();
        assertThat(tracker.arrivals()).isEqualTo(1);
        assertThat(tracker.silence(now)).isEqualTo(Duration.ofMillis(30));
        TrafficReport report = tracker.report(now, new TrafficTracker.Verdict(null, null, false, List.of()));
        assertThat(report.newConnections()).isEqualTo(1);
        assertThat(report.lastRequestConnection()).isEqualTo("new");
    }

    @Test
    void theRateIsMeasuredUntilTheWithdrawalOrTheRateWindowWhicheverIsLater() throws Exception {
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        for (int i = 0; i < 30; i++) { // 10 arrivals a second for 3 s
            advance(Duration.ofMillis(100));
            table.connections.put(from("10.244.0.9", 40000 + i), Received.UNKNOWN);
            tracker.poll();
        }
        tracker.withdrawn(now);
        for (int i = 0; i < 5; i++) { // then a probe every 2 s
            advance(Duration.ofSeconds(2));
            table.connections.put(from("10.244.0.1", 50000 + i), Received.UNKNOWN);
            tracker.poll();
        }
        assertThat(tracker.arrivals()).isEqualTo(35);
        assertThat(tracker.rateArrivals(now)).isEqualTo(30);
        assertThat(tracker.meanGap(now)).isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void withTenArrivalsOrMoreTheRateIsTakenUntilTheLastOfThem() throws Exception {
        // kube-proxy moved the traffic about 1 s into the drain: twelve arrivals until then, then silence.
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        for (int i = 0; i < 12; i++) {
            advance(Duration.ofMillis(80));
            table.connections.put(from("10.244.0.9", 40000 + i), Received.UNKNOWN);
            tracker.poll();
        }
        advance(Duration.ofMillis(1540));
        tracker.withdrawn(now);
        tracker.poll();
        assertThat(tracker.rateSpan(now)).isEqualTo(Duration.ofMillis(960));
        assertThat(tracker.meanGap(now)).as("over the rate window, 2.5 s, it would be 208 ms").isEqualTo(Duration.ofMillis(80));

        // Nine in that second are too few to tell a stream from a burst: the window it is.
        TrafficTracker fewer = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        long start = now;
        for (int i = 0; i < 9; i++) {
            advance(Duration.ofNanos(1_000_000_000L / 9));
            table.connections.put(from("10.244.0.9", 41000 + i), Received.UNKNOWN);
            fewer.poll();
        }
        advance(Duration.ofMillis(1500));
        fewer.withdrawn(now);
        assertThat(fewer.rateSpan(now)).isEqualTo(Duration.ofNanos(now - start));
    }

    @Test
    void afterKeepAliveWaitTheRateIsTheNewConnections() throws Exception {
        // Busy keep-alive connections make a dense rate; once they stop counting, a gap must be judged by the sparse
        // new connections (the benchmark saw a drain end on a 1 s gap in them while kube-proxy still sent some).
        Connection pinned = from("10.244.0.9", 40000);
        table.connections.put(pinned, new Received(0, Duration.ofSeconds(1)));
        TrafficTracker tracker = TrafficTracker.start(table, Duration.ofSeconds(1), RATE_WINDOW, ticker, Clock.systemUTC());
        long bytes = 0;
        for (int i = 0; i < 20; i++) { // 2 s: a request per poll on the pinned connection, a new connection every 500 ms
            advance(Duration.ofMillis(100));
            bytes += 100;
            table.connections.put(pinned, new Received(bytes, Duration.ZERO));
            if (i % 5 == 4) {
                table.connections.put(from("10.244.0.9", 41000 + i), Received.UNKNOWN);
            }
            tracker.poll();
        }
        tracker.withdrawn(now);
        assertThat(tracker.rateArrivals(now)).isEqualTo(24);
        assertThat(tracker.meanGap(now)).isEqualTo(Duration.ofNanos(2_000_000_000L / 24));
        advance(Duration.ofSeconds(1));
        assertThat(tracker.rateArrivals(now)).isEqualTo(4);
        assertThat(tracker.meanGap(now)).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void withoutAWithdrawalEveryArrivalCounts() throws Exception {
        Connection pooled = from("10.244.0.9", 40000);
        table.connections.put(pooled, new Received(0, Duration.ofSeconds(1)));
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        advance(Duration.ofSeconds(20));
        table.connections.put(pooled, new Received(10, Duration.ZERO));
        tracker.poll();
        assertThat(tracker.silence(now)).isZero();
        assertThat(tracker.rateArrivals(now)).isEqualTo(1);
    }

    @Test
    void aConnectionThatClosedStopsBeingTrackedAndItsTupleReturningIsNew() throws Exception {
        Connection short1 = from("10.244.0.1", 50000);
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        table.connections.put(short1, Received.UNKNOWN); // e.g. TIME_WAIT: no TCP_INFO
        advance(Duration.ofMillis(100));
        tracker.poll();
        table.connections.clear();
        advance(Duration.ofMillis(100));
        tracker.poll();
        table.connections.put(short1, Received.UNKNOWN);
        advance(Duration.ofMillis(100));
        tracker.poll();
        assertThat(tracker.arrivals()).isEqualTo(2);
    }

    @Test
    void aConnectionTheAppClosedBetweenTwoPollsCarriedARequestCountedOnce() throws Exception {
        Connection pooled = from("10.244.0.9", 40000);
        table.connections.put(pooled, new Received(100, Duration.ofSeconds(3)));
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        advance(Duration.ofMillis(100));
        // A request came, the app answered with Connection: close and closed first: TIME_WAIT, no TCP_INFO left.
        table.connections.put(pooled, Received.CLOSED_BY_APP);
        tracker.poll();
        assertThat(tracker.arrivals()).isEqualTo(1);
        assertThat(tracker.silence(now)).isZero();
        advance(Duration.ofMillis(100));
        tracker.poll(); // still in TIME_WAIT: the same close
        advance(Duration.ofMillis(100));
        table.connections.put(from("10.244.0.9", 40001), Received.CLOSED_BY_APP); // a whole new connection between two polls
        tracker.poll();
        advance(Duration.ofMillis(100));
        tracker.poll();

        TrafficReport report = tracker.report(now, new TrafficTracker.Verdict(null, null, false, List.of()));
        assertThat(report.requests()).isEqualTo(1);
        assertThat(report.newConnections()).isEqualTo(1);
    }

    @Test
    void theFirstLookTellsTheRateOfNewConnectionsJustBeforeTheStart() throws Exception {
        for (int i = 0; i < 120; i++) { // closed first by the app, still in TIME_WAIT
            table.connections.put(from("10.244.0.9", 30000 + i), Received.CLOSED_BY_APP);
        }
        for (int i = 0; i < 4; i++) { // busy keep-alive connections: no guide once the app leaves (they close)
            table.connections.put(from("10.244.0.9", 40000 + i), new Received(900, Duration.ofMillis(200 * i)));
        }
        TrafficTracker minuteOld = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofMinutes(5), ticker, Clock.systemUTC());
        assertThat(minuteOld.prior(3).meanGap()).isEqualTo(Duration.ofMillis(500)); // 120 in the 60 s of TIME_WAIT
        assertThat(minuteOld.prior(3).describe()).isEqualTo("the new connections before the trigger (120 the app closed in the last 1m)");

        TrafficTracker young = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofSeconds(24), ticker, Clock.systemUTC());
        assertThat(young.prior(3).meanGap()).as("an agent up for 24 s saw them all in 24 s").isEqualTo(Duration.ofMillis(200));
        TrafficTracker newborn = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofSeconds(2), ticker, Clock.systemUTC());
        assertThat(newborn.prior(3).meanGap()).as("at least 10 s of history").isEqualTo(Duration.ofNanos(10_000_000_000L / 120));
        assertThat(minuteOld.prior(121)).as("too few").isNull();
    }

    /** A kernel count of accepted connections (the pod's: the app on 8080, the agent on 8081), scripted. */
    private final AtomicLong kernelCount = new AtomicLong(1_000);
    private final RecentAccepts recentAccepts = new RecentAccepts(kernelCount::get, () -> 0, () -> Set.of(8080, 8081), Set.of(8080),
            () -> 8081, ticker);

    /** The count for a drain starting now, after {@code accepted} connections in the {@code span} before. */
    private Optional<RecentAccepts.Count> acceptedBefore(int accepted, Duration span) {
        recentAccepts.sample();
        advance(span);
        kernelCount.addAndGet(accepted);
        return recentAccepts.start();
    }

    @Test
    void theKernelsCountOfAcceptedConnectionsSetsThePriorWhenBusier() throws Exception {
        for (int i = 0; i < 41; i++) { // 41 closes over the last 10 s: the clients that let the app close first
            table.connections.put(from("10.244.0.9", 30000 + i), Received.closedByApp(Duration.ofMillis(250 * i)));
        }
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofMinutes(5),
                acceptedBefore(56, Duration.ofSeconds(7)), ticker, Clock.systemUTC());
        assertThat(tracker.prior(3).meanGap()).as("56 in 7 s, not 40 gaps in 10 s").isEqualTo(Duration.ofMillis(125));
        assertThat(tracker.prior(3).describe())
                .isEqualTo("the new connections before the trigger (56 the app accepted in the last 7s, the kernel's count)");

        assertThat(TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofMinutes(5), acceptedBefore(20, Duration.ofSeconds(7)),
                ticker, Clock.systemUTC()).prior(3).meanGap()).as("the closes are the busier").isEqualTo(Duration.ofMillis(250));

        table.connections.clear();
        assertThat(TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofMinutes(5), acceptedBefore(56, Duration.ofSeconds(7)),
                ticker, Clock.systemUTC()).prior(3).meanGap()).as("no closes at all").isEqualTo(Duration.ofMillis(125));
        assertThat(TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofMinutes(5), acceptedBefore(9, Duration.ofSeconds(5)),
                ticker, Clock.systemUTC()).prior(3)).as("fewer than ten are no rate: a few probes and a burst").isNull();
    }

    @Test
    void connectionsTheKernelCountedAndTheTableNeverShowedAreArrivals() throws Exception {
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofMinutes(5),
                acceptedBefore(0, Duration.ofSeconds(5)), ticker, Clock.systemUTC());
        advance(Duration.ofMillis(100));
        table.connections.put(from("10.244.0.9", 40000), new Received(80, Duration.ofMillis(30))); // one the table shows
        kernelCount.addAndGet(4); // and three whose clients closed first: gone from the table before this look
        tracker.poll();
        assertThat(tracker.arrivals()).isEqualTo(4);
        assertThat(tracker.silence(now)).as("the unseen ones are dated at the look").isZero();

        advance(Duration.ofMillis(100));
        kernelCount.addAndGet(1); // counted at its handshake, when the table shows it too (the count is read first)
        table.connections.put(from("10.244.0.9", 40001), new Received(80, Duration.ofMillis(20)));
        tracker.poll();
        assertThat(tracker.arrivals()).as("not counted twice").isEqualTo(5);
        TrafficReport report = tracker.report(now, new TrafficTracker.Verdict(null, null, false, List.of()));
        assertThat(report.lastNewConnectionPeer()).isEqualTo("10.244.0.9:40001");

        advance(Duration.ofMillis(100));
        table.connections.put(from("10.244.0.9", 40002), new Received(0, Duration.ZERO)); // still in its handshake (SYN-RECV)
        tracker.poll();
        advance(Duration.ofMillis(100));
        kernelCount.addAndGet(1);
        table.connections.put(from("10.244.0.9", 40002), new Received(80, Duration.ofMillis(10)));
        tracker.poll();
        assertThat(tracker.arrivals()).as("once, by the table").isEqualTo(6);

        advance(Duration.ofMillis(100));
        kernelCount.addAndGet(2);
        tracker.poll();
        report = tracker.report(now, new TrafficTracker.Verdict(null, null, false, List.of()));
        assertThat(report.newConnections()).isEqualTo(8);
        assertThat(report.unseenConnections()).isEqualTo(5);
        assertThat(report.lastNewConnectionPeer()).isEqualTo(TrafficTracker.UNSEEN_PEER);
        assertThat(report.sources()).extracting(TrafficReport.Source::newConnections).containsExactly(3);
    }

    @Test
    void datedClosesTellTheRateOverTheSpanThePodServedNotOverItsLife() throws Exception {
        for (int i = 0; i < 41; i++) { // 41 closes spread over the last 10 s of an agent up for minutes
            table.connections.put(from("10.244.0.9", 30000 + i), Received.closedByApp(Duration.ofMillis(250 * i)));
        }
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofMinutes(5), ticker, Clock.systemUTC());

        assertThat(tracker.prior(3).meanGap()).as("40 gaps in 10 s").isEqualTo(Duration.ofMillis(250));
        assertThat(tracker.prior(3).describe()).isEqualTo("the new connections before the trigger (41 the app closed in the last 10s)");
    }

    @Test
    void anAgentRestartedBesideABusyAppTakesTheRateOverTheClosesNotItsOwnUptime() throws Exception {
        for (int i = 0; i < 61; i++) { // one close a second for the last minute: the app served all along
            table.connections.put(from("10.244.0.9", 30000 + i), Received.closedByApp(Duration.ofSeconds(i)));
        }
        TrafficTracker restarted = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofSeconds(10), ticker, Clock.systemUTC());

        // Over the agent's 10 s of uptime, 61 closes would have made a rate six times the real one, and a silence
        // six times too short.
        assertThat(restarted.prior(3).meanGap()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void closesThatAreABurstOrPartlyUndatedFallBackToTheAgentsUptime() throws Exception {
        for (int i = 0; i < 20; i++) { // an idle timeout closing pooled connections at once, 2 s ago
            table.connections.put(from("10.244.0.9", 30000 + i), Received.closedByApp(Duration.ofMillis(2000 + i)));
        }
        table.connections.put(from("10.244.0.9", 31000), Received.closedByApp(Duration.ofSeconds(5)));
        table.connections.put(from("10.244.0.9", 31001), Received.closedByApp(Duration.ofSeconds(9)));
        TrafficTracker burst = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofSeconds(30), ticker, Clock.systemUTC());
        assertThat(burst.prior(3).meanGap()).as("22 in the agent's 30 s").isEqualTo(Duration.ofNanos(30_000_000_000L / 22));

        table.connections.clear();
        for (int i = 0; i < 10; i++) { // in two different seconds only
            table.connections.put(from("10.244.0.9", 30000 + i), Received.closedByApp(Duration.ofMillis(1000 + 1000 * (i % 2))));
        }
        TrafficTracker twoSeconds = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofSeconds(30), ticker, Clock.systemUTC());
        assertThat(twoSeconds.prior(3).meanGap()).isEqualTo(Duration.ofSeconds(3));

        table.connections.clear();
        for (int i = 0; i < 10; i++) { // one of them undated (read from /proc, say)
            table.connections.put(from("10.244.0.9", 30000 + i), i == 0 ? Received.CLOSED_BY_APP : Received.closedByApp(Duration.ofSeconds(i)));
        }
        TrafficTracker undated = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, Duration.ofSeconds(30), ticker, Clock.systemUTC());
        assertThat(undated.prior(3).meanGap()).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void theAppClosingAPooledConnectionIsARequestButNotPartOfTheRate() throws Exception {
        Connection pooled = from("10.244.0.9", 40000);
        table.connections.put(pooled, new Received(100, Duration.ofSeconds(3)));
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        advance(Duration.ofMillis(100));
        table.connections.put(pooled, Received.CLOSED_BY_APP); // its last request, answered with Connection: close
        tracker.poll();
        assertThat(tracker.arrivals()).isEqualTo(1);
        assertThat(tracker.rateArrivals(now)).as("it ended its connection: no sign of traffic to come").isZero();
    }

    @Test
    void aReaderThatStopsKnowingCountsNothing() throws Exception {
        Connection pooled = from("10.244.0.9", 40000);
        table.connections.put(pooled, new Received(100, Duration.ofSeconds(3)));
        TrafficTracker tracker = TrafficTracker.start(table, KEEP_ALIVE_WAIT, RATE_WINDOW, ticker, Clock.systemUTC());
        advance(Duration.ofMillis(100));
        table.connections.put(pooled, Received.UNKNOWN); // ss failed over to /proc/net/tcp: no counters, no close seen
        tracker.poll();
        advance(Duration.ofMillis(100));
        tracker.poll();
        assertThat(tracker.arrivals()).isZero();
    }

    @Test
    void aKeepAliveRequestTheAppAnsweredWithCloseIsSeenOnLoopback() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Socket before = app.connect();
            TrafficTracker tracker = TrafficTracker.start(app.connections(), KEEP_ALIVE_WAIT, RATE_WINDOW, Ticker.SYSTEM, Clock.systemUTC());
            tracker.poll();
            LoopbackApp.send(before); // the next request on the keep-alive connection ...
            app.closeByApp(before); // ... answered with Connection: close, all before the next poll
            Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
                tracker.poll();
                assertThat(tracker.arrivals()).isEqualTo(1);
            });
            TrafficReport report = tracker.report(System.nanoTime(), new TrafficTracker.Verdict(null, null, false, List.of()));
            assertThat(report.requests()).isEqualTo(1);
            assertThat(report.newConnections()).isZero();
        }
    }

    @Test
    void realConnectionsOnLoopbackThroughSs() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Socket before = app.connect();
            TrafficTracker tracker = TrafficTracker.start(app.connections(), KEEP_ALIVE_WAIT, RATE_WINDOW, Ticker.SYSTEM, Clock.systemUTC());
            tracker.poll();
            assertThat(tracker.arrivals()).as("the connection open at the start is the baseline").isZero();

            LoopbackApp.send(before); // a request on the keep-alive connection: no new connection, still traffic
            Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
                tracker.poll();
                assertThat(tracker.arrivals()).isEqualTo(1);
            });
            Socket fresh = app.connect();
            Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
                tracker.poll();
                assertThat(tracker.arrivals()).isEqualTo(2);
            });
            TrafficReport report = tracker.report(System.nanoTime(), new TrafficTracker.Verdict(null, null, false, List.of()));
            assertThat(report.requestsBlindSpot()).isNull();
            assertThat(report.newConnections()).isEqualTo(1);
            assertThat(report.requests()).isEqualTo(1);
            assertThat(report.lastNewConnectionPeer()).isEqualTo("127.0.0.1:" + fresh.getLocalPort());
            assertThat(report.sources()).extracting(TrafficReport.Source::address).containsExactly("127.0.0.1");
        }
    }

    @Test
    void realConnectionsThroughProcSeeOnlyNewOnesAndSaySo() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Socket before = app.connect();
            TrafficTracker tracker = TrafficTracker.start(app.procConnections(), KEEP_ALIVE_WAIT, RATE_WINDOW, Ticker.SYSTEM, Clock.systemUTC());
            LoopbackApp.send(before);
            TimeUnit.MILLISECONDS.sleep(100);
            tracker.poll();
            assertThat(tracker.arrivals()).as("/proc/net/tcp has no data counters").isZero();
            app.connect().close(); // the server side stays in CLOSE_WAIT: still listed, so still seen
            tracker.poll();
            assertThat(tracker.arrivals()).isEqualTo(1);
            assertThat(tracker.report(System.nanoTime(), new TrafficTracker.Verdict(null, null, false, List.of())).requestsBlindSpot())
                    .isEqualTo("no ss in this test");
        }
    }

    @Test
    void ignoredPeersAreNotCounted() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Socket before = app.connect();
            TrafficTracker tracker = TrafficTracker.start(app.connections(Cidr.parse("127.0.0.0/8").orElseThrow()), KEEP_ALIVE_WAIT, RATE_WINDOW,
                    Ticker.SYSTEM, Clock.systemUTC());
            app.connect();
            LoopbackApp.send(before);
            TimeUnit.MILLISECONDS.sleep(100);
            tracker.poll();
            assertThat(tracker.arrivals()).isZero();
        }
    }
}
