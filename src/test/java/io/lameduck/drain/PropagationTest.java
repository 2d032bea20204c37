package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.drain.hooks.ProcAppConnections;
import io.lameduck.drain.hooks.TcpConnectionTable;
import io.lameduck.logging.LogCapture;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The propagate step against a real application on loopback: real sockets, read through the real {@code ss} (or
 * {@code /proc/net/tcp} where the test says so). Wall-clock bounds are loose (a loaded 2-core CI machine); what
 * each test pins down is the order of events: the step never ends while traffic that counts is still arriving.
 */
class PropagationTest {
    private static final Duration POLL = Duration.ofMillis(50);
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final AtomicReference<TrafficReport> traffic = new AtomicReference<>();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    private static Propagation quiet(AppConnections connections, Duration quietPeriod, Duration minimum, Duration maximum, Duration keepAliveWait) {
        return Propagation.quiet(new Propagation.Rules(quietPeriod, minimum, maximum, keepAliveWait), connections, POLL, Ticker.SYSTEM, Clock.systemUTC());
    }

    /** The step on its own thread (the drain's), with the watch started by the caller at "the trigger". */
    private Future<StepResult> start(Propagation propagation, Propagation.Watch watch, Deadline deadline) {
        return executor.submit(() -> propagation.await(deadline, watch, traffic::set));
    }

    /** Sends a request on {@code client} every {@code every} for {@code during}; returns when it sent the last. */
    private static long requests(Socket client, Duration every, Duration during) throws Exception {
        long start = System.nanoTime();
        long last = start;
        while (System.nanoTime() - start < during.toNanos()) {
            LoopbackApp.send(client);
            last = System.nanoTime();
            TimeUnit.NANOSECONDS.sleep(every.toNanos());
        }
        return last;
    }

    /** Opens a new connection every 100 ms for {@code during}; returns when it opened the last. */
    private static long newConnections(LoopbackApp app, Duration during) throws Exception {
        long start = System.nanoTime();
        long last = start;
        while (System.nanoTime() - start < during.toNanos()) {
            app.connect();
            last = System.nanoTime();
            TimeUnit.MILLISECONDS.sleep(100);
        }
        return last;
    }

    private static double since(long start, long then) {
        return (then - start) / 1e9;
    }

    @Test
    void withoutTrafficItWaitsTheMinimumAfterTheWithdrawal() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            app.connect(); // an idle keep-alive connection does not hold the step
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(200), Duration.ofMillis(600), Duration.ofSeconds(10), Duration.ofSeconds(5));
            long start = System.nanoTime();
            StepResult result = propagation.await(Deadline.after(Duration.ofSeconds(20)), propagation.watch(), traffic::set);
            double took = since(start, System.nanoTime());

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(result.detail()).startsWith("traffic stopped: silent for 200ms (low traffic: 0 arrivals measured from the trigger prove no rate, "
                    + "so also at least the minimum 600ms after the withdrawal)").contains("0 new connection(s) and 0 request(s)");
            assertThat(took).isBetween(0.6, 3.0);
            assertThat(traffic.get().stopped()).isTrue();
            assertThat(traffic.get().requestsBlindSpot()).isNull();
            assertThat(traffic.get().lastRequestSeconds()).isNull();
        }
    }

    @Test
    void requestsOnAKeepAliveConnectionHoldTheStepUntilTheyStop() throws Exception {
        // How an ingress sends: no new connection, requests on one it holds. The step must see them.
        try (LoopbackApp app = new LoopbackApp()) {
            Socket pooled = app.connect();
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(300), Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
            long start = System.nanoTime();
            Future<StepResult> step = start(propagation, propagation.watch(), Deadline.after(Duration.ofSeconds(20)));
            long last = requests(pooled, Duration.ofMillis(50), Duration.ofMillis(1500));
            StepResult result = step.get(15, TimeUnit.SECONDS);
            double took = since(start, System.nanoTime());
            double lastAt = since(start, last);

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            TrafficReport seen = traffic.get();
            double required = seen.requiredQuietSeconds();
            assertThat(result.detail()).startsWith("traffic stopped: silent for ");
            assertThat(required).as("the quiet period, or ten mean gaps of ~50 ms requests").isBetween(0.3, 1.5);
            assertThat(took).as("%.2fs of silence after the last request at %.2fs", required, lastAt).isBetween(lastAt + required - 0.05, lastAt + required + 3.0);
            assertThat(seen.newConnections()).isZero();
            assertThat(seen.requests()).isGreaterThanOrEqualTo(10);
            assertThat(seen.lastRequestConnection()).isEqualTo("reused");
            assertThat(seen.lastRequestPeer()).isEqualTo("127.0.0.1:" + pooled.getLocalPort());
            assertThat(seen.stopped()).isTrue();
            assertThat(seen.stillSending()).isEmpty();
        }
    }

    @Test
    void withoutSsOnlyNewConnectionsAreSeenSoKeepAliveRequestsDoNotHoldTheStep() throws Exception {
        // The blind spot of /proc/net/tcp, which the report names: why the image ships ss.
        try (LoopbackApp app = new LoopbackApp()) {
            Socket pooled = app.connect();
            Propagation propagation = quiet(app.procConnections(), Duration.ofMillis(300), Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
            long start = System.nanoTime();
            Future<StepResult> step = start(propagation, propagation.watch(), Deadline.after(Duration.ofSeconds(20)));
            long last = requests(pooled, Duration.ofMillis(50), Duration.ofMillis(3000));
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(traffic.get().watchedSeconds()).as("ended while requests still came (the last at %.2fs)", since(start, last))
                    .isLessThan(since(start, last));
            assertThat(traffic.get().requestsBlindSpot()).isEqualTo("no ss in this test");
            assertThat(result.detail()).endsWith("; no ss in this test");
        }
    }

    @Test
    void keepAliveRequestsThatNeverStopCountOnlyUntilKeepAliveWaitAndAreReported() throws Exception {
        // A client pinned to the pod by conntrack sends on its connection until the app closes it: waiting longer
        // changes nothing, so after keepAliveWait only new connections count.
        try (LoopbackApp app = new LoopbackApp()) {
            Socket pinned = app.connect();
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(300), Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(1));
            long start = System.nanoTime();
            Future<StepResult> step = start(propagation, propagation.watch(), Deadline.after(Duration.ofSeconds(20)));
            Future<Long> sender = executor.submit(() -> requests(pinned, Duration.ofMillis(50), Duration.ofMillis(4000)));
            StepResult result = step.get(15, TimeUnit.SECONDS);
            double took = since(start, System.nanoTime());
            assertThat(sender.isDone()).as("the requests were still coming").isFalse();

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(took).isBetween(1.0, 3.5);
            assertThat(traffic.get().stopped()).isTrue();
            assertThat(traffic.get().stillSending()).containsExactly("127.0.0.1");
            assertThat(result.detail()).contains("still sending on keep-alive connections (pinned by conntrack, or a consumer lagging more than keepAliveWait): 127.0.0.1");
        }
    }

    @Test
    void trafficThatStoppedDuringTheWithdrawalEndsTheStepAtOnce() throws Exception {
        // Watching from the trigger: a withdrawal that took a second already proved the silence.
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(300), Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(5));
            Propagation.Watch watch = propagation.watch();
            for (int i = 0; i < 40; i++) { // steady traffic: 40 new connections in 1 s, then none
                app.connect();
                TimeUnit.MILLISECONDS.sleep(25);
            }
            TimeUnit.MILLISECONDS.sleep(1200); // the withdraw step
            long start = System.nanoTime();
            StepResult result = propagation.await(Deadline.after(Duration.ofSeconds(20)), watch, traffic::set);
            double took = since(start, System.nanoTime());

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(took).as("no minimum with a measured rate; the silence began before the withdrawal").isLessThan(0.5);
            assertThat(traffic.get().newConnections()).isEqualTo(40);
            assertThat(traffic.get().withdrawnSeconds()).isGreaterThanOrEqualTo(2.0);
            assertThat(traffic.get().afterWithdrawal(traffic.get().lastRequestSeconds())).isZero();
        }
    }

    @Test
    void sparseTrafficMustBeSilentForTenOfItsMeanGaps() throws Exception {
        // A quiet period that sparse traffic reaches by chance is no proof that load balancers stopped sending.
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(500), Duration.ofSeconds(3), Duration.ofSeconds(15), Duration.ofSeconds(5));
            long start = System.nanoTime();
            Propagation.Watch watch = propagation.watch();
            long last = start;
            for (int i = 0; i < 15; i++) { // during the withdraw step, a new connection every 100 ms ...
                TimeUnit.MILLISECONDS.sleep(100);
                app.connect();
                last = System.nanoTime();
            }
            // ... measured over the rate window (2 s): ten mean gaps are about 1.4 s, within the 3 s minimum.
            StepResult result = propagation.await(Deadline.after(Duration.ofSeconds(20)), watch, traffic::set);
            double took = since(start, System.nanoTime());
            double required = traffic.get().requiredQuietSeconds();

            assertThat(result.detail()).matches("traffic stopped: silent for \\d+(ms|s) \\(10 mean gaps of the 1[2-5] arrivals measured from the trigger\\).*");
            assertThat(required).isBetween(1.2, 1.8);
            assertThat(took).isBetween(since(start, last) + required - 0.3, since(start, last) + required + 2.5);
        }
    }

    @Test
    void aPodBusyJustBeforeTheTriggerEndsWithoutTheLowTrafficMinimum() throws Exception {
        // Fast consumers moved away before the preStop came: the drain itself sees nothing, but the first look shows
        // 100 connections the app closed in the 10 s it has been up (TIME_WAIT): ten a second.
        ScriptedConnections table = ScriptedConnections.onPort8080();
        for (int i = 0; i < 100; i++) {
            table.connections.put(new AppConnections.Connection(InetAddress.getByName("10.244.0.5"), 8080,
                    InetAddress.getByName("10.244.0.9"), 41000 + i), AppConnections.Received.CLOSED_BY_APP);
        }
        Propagation propagation = quiet(table, Duration.ofMillis(300), Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(8));
        long start = System.nanoTime();
        Propagation.Watch watch = propagation.watch();
        TimeUnit.MILLISECONDS.sleep(200); // the withdraw step
        StepResult result = propagation.await(Deadline.after(Duration.ofSeconds(20)), watch, traffic::set);
        double took = since(start, System.nanoTime());

        assertThat(result.detail()).contains("10 mean gaps of the new connections before the trigger (100 the app closed in the last 10 s)");
        assertThat(traffic.get().requiredQuietSeconds()).isEqualTo(1.0);
        assertThat(took).as("ten gaps of silence from the trigger, not the 5 s minimum after the withdrawal").isBetween(0.9, 3.0);
    }

    @Test
    void trafficTooSparseForTenGapsWithinTheMinimumWaitsTheMinimumInstead() throws Exception {
        // Ten gaps of a kubelet probe every 400 ms would be 4 s (and a probe every 5 s: past any maximum).
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(300), Duration.ofMillis(1500), Duration.ofSeconds(15), Duration.ofSeconds(5));
            long start = System.nanoTime();
            Propagation.Watch watch = propagation.watch();
            for (int i = 0; i < 4; i++) {
                TimeUnit.MILLISECONDS.sleep(400);
                app.connect();
            }
            StepResult result = propagation.await(Deadline.after(Duration.ofSeconds(20)), watch, traffic::set);
            double took = since(start, System.nanoTime());

            assertThat(result.detail()).containsPattern("sparse traffic: the [34] arrivals measured from the trigger, mean gap ")
                    .contains("at least the minimum 1500ms after the withdrawal");
            assertThat(traffic.get().requiredQuietSeconds()).isEqualTo(0.3);
            assertThat(took).as("the withdrawal (this step's start, 1.6 s in) + the minimum").isBetween(3.0, 5.0);
        }
    }

    @Test
    void probesAfterTheTrafficMovedAwayDoNotStretchTheRequiredSilence() throws Exception {
        // The rate is measured up to the withdrawal: a kubelet probe every 400 ms afterwards is no rate to wait ten gaps of.
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(300), Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(5));
            Propagation.Watch watch = propagation.watch();
            for (int i = 0; i < 40; i++) { // the traffic before the withdrawal: 40 new connections in 1 s
                app.connect();
                TimeUnit.MILLISECONDS.sleep(25);
            }
            long start = System.nanoTime();
            Future<StepResult> step = start(propagation, watch, Deadline.after(Duration.ofSeconds(20)));
            Future<?> probes = executor.submit(() -> {
                for (int i = 0; i < 20; i++) {
                    TimeUnit.MILLISECONDS.sleep(400);
                    app.connect();
                }
                return null;
            });
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(traffic.get().requiredQuietSeconds()).isLessThan(0.7);
            assertThat(since(start, System.nanoTime())).as("a silence between two probes ends it").isLessThan(4.0);
            assertThat(probes.isDone()).isFalse();
        }
    }

    @Test
    void aConnectionThatNeverSendsIsNoTraffic() throws Exception {
        // A load balancer's TCP health check connects and closes without a byte: it must not hold the drain.
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(300), Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
            Propagation.Watch watch = propagation.watch();
            Future<?> checks = executor.submit(() -> {
                for (int i = 0; i < 40; i++) {
                    app.connectSilently(); // stays open, silent
                    TimeUnit.MILLISECONDS.sleep(100);
                }
                return null;
            });
            TimeUnit.MILLISECONDS.sleep(500);
            StepResult result = propagation.await(Deadline.after(Duration.ofSeconds(20)), watch, traffic::set);

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(checks.isDone()).isFalse();
            assertThat(traffic.get().newConnections()).isZero();
        }
    }

    @Test
    void itStopsAtTheMaximumWhileNewConnectionsKeepArrivingAndNamesWhoSentThem() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(500), Duration.ofMillis(200), Duration.ofMillis(1000), Duration.ofMillis(500));
            long start = System.nanoTime();
            Future<StepResult> step = start(propagation, propagation.watch(), Deadline.after(Duration.ofSeconds(20)));
            newConnections(app, Duration.ofMillis(1800));
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(result.outcome()).isEqualTo(Outcome.TIMED_OUT);
            assertThat(result.cutByDeadline()).isFalse();
            assertThat(result.error()).startsWith("traffic was still arriving at the maximum 1s (silent for only").endsWith("required), from 127.0.0.1");
            assertThat(traffic.get().stopped()).isFalse();
            assertThat(traffic.get().stillSending()).containsExactly("127.0.0.1");
            assertThat(traffic.get().watchedSeconds()).isBetween(1.0, 3.0);
            assertThat(since(start, System.nanoTime())).isLessThan(3.0);
        }
    }

    @Test
    void theDrainDeadlineCutsItShortBeforeTheMaximum() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = quiet(app.connections(), Duration.ofMillis(500), Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
            Future<StepResult> step = start(propagation, propagation.watch(), Deadline.after(Duration.ofMillis(800)));
            newConnections(app, Duration.ofMillis(1400));
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(result.outcome()).isEqualTo(Outcome.TIMED_OUT);
            assertThat(result.cutByDeadline()).isTrue();
            assertThat(result.error()).isEqualTo("cut short by the drain deadline");
            assertThat(traffic.get().watchedSeconds()).isBetween(0.5, 2.0);
        }
    }

    @Test
    void theFixedModeWaitsItsDelayAndStillReportsTheTraffic() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Propagation propagation = Propagation.fixed(Duration.ofMillis(900), new Propagation.Rules(Duration.ofMillis(300),
                    Duration.ZERO, Duration.ofSeconds(5), Duration.ofSeconds(5)), app.connections(), POLL, Ticker.SYSTEM, Clock.systemUTC());
            Future<StepResult> step = start(propagation, propagation.watch(), Deadline.after(Duration.ofSeconds(20)));
            newConnections(app, Duration.ofMillis(300));
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(result.detail()).matches("waited (0\\.9|1\\.)\\d+s for load balancers to catch up; .*").contains("new connection(s)");
            assertThat(traffic.get().newConnections()).isBetween(1, 4);
            assertThat(traffic.get().lastNewConnectionSeconds()).isLessThan(traffic.get().watchedSeconds());
        }
    }

    @Test
    void theKernelsTablesTellWhichWatchedPortsAreListenedOn() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            assertThat(app.connections().listening()).as("ss, through /proc/net/tcp").containsExactly(app.port());
            assertThat(app.procConnections().listening()).containsExactly(app.port());
            int closed;
            try (ServerSocket gone = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                closed = gone.getLocalPort();
            }
            assertThat(new ProcAppConnections(TcpConnectionTable.system(),
                    List.of(app.port(), closed), List.of(), null).listening()).containsExactly(app.port());
        }
    }

    @Test
    void aWatchedPortNothingListensOnIsWarnedAboutAndReported() throws Exception {
        ScriptedConnections table = ScriptedConnections.onPort8080();
        table.listening = Set.of(); // the app listens on another port than the one configured
        try (LogCapture logs = LogCapture.of(Propagation.class)) {
            Propagation propagation = quiet(table, Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMillis(700), Duration.ofMillis(100));
            propagation.await(Deadline.after(Duration.ofSeconds(20)), propagation.watch(), traffic::set);

            assertThat(traffic.get().unheardPorts()).containsExactly(8080);
            assertThat(logs.messages(Level.WARN)).anySatisfy(warning -> assertThat(warning)
                    .contains("nothing listens on watched port(s) [8080]", "drain.propagation.ports"));
        }
        ScriptedConnections listened = ScriptedConnections.onPort8080();
        Propagation propagation = quiet(listened, Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMillis(700), Duration.ofMillis(100));
        propagation.await(Deadline.after(Duration.ofSeconds(20)), propagation.watch(), traffic::set);
        assertThat(traffic.get().unheardPorts()).isEmpty();
    }

    @Test
    void aTableThatCannotBeReadMeansWaitingTheMaximum() throws Exception {
        AppConnections broken = ScriptedConnections.unreadable("/proc/net/tcp: permission denied");
        Propagation propagation = quiet(broken, Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMillis(700), Duration.ofMillis(100));
        long start = System.nanoTime();
        StepResult result = propagation.await(Deadline.after(Duration.ofSeconds(20)), propagation.watch(), traffic::set);

        assertThat(result.outcome()).isEqualTo(Outcome.FAILED);
        assertThat(result.error()).isEqualTo("cannot read the TCP connection table: /proc/net/tcp: permission denied; waited the maximum 700ms instead");
        assertThat(since(start, System.nanoTime())).isBetween(0.7, 3.0);
        assertThat(traffic.get().error()).startsWith("cannot read the TCP connection table");
    }
}
