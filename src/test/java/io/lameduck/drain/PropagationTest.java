package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.logging.LogCapture;
import io.lameduck.sockets.AppConnections.Connection;
import io.lameduck.sockets.AppConnections.Received;
import io.lameduck.sockets.AppConnections;
import io.lameduck.sockets.ProcAppConnections;
import io.lameduck.sockets.TcpConnectionTable;
import io.lameduck.testsupport.SimulatedTime;
import io.lameduck.time.Deadline;
import io.lameduck.time.TimeSource;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The propagate step's rules on simulated time, with a scripted socket table standing in for the kernel: every test
 * says exactly when the step ends (it has not ended a nanosecond before, it has at that moment), and runs in no time.
 * The poller and the step wake on the same 50 ms grid, so a table change the test makes at {@code t} is seen by the
 * poll at the next grid point. One smoke test runs the step in real time against a real application on loopback,
 * read through the real {@code ss}.
 */
class PropagationTest {
    private static final Duration POLL = Duration.ofMillis(50);
    private final SimulatedTime time = new SimulatedTime();
    private final ScriptedConnections table = ScriptedConnections.onPort8080();
    private final AtomicReference<TrafficReport> traffic = new AtomicReference<>();
    private long bytes;

    @AfterEach
    void close() {
        time.close();
    }

    private Propagation quiet(AppConnections connections, Duration quietPeriod, Duration minimum, Duration maximum, Duration keepAliveWait) {
        return Propagation.quiet(new Propagation.Rules(quietPeriod, minimum, maximum, keepAliveWait), connections, POLL, time);
    }

    private static Duration ms(long millis) {
        return Duration.ofMillis(millis);
    }

    private static Connection from(String peer, int port) throws Exception {
        return new Connection(InetAddress.getByName("10.244.0.5"), 8080, InetAddress.getByName(peer), port);
    }

    /** The step on a thread of its own (the drain's), from now, with the watch started earlier at "the trigger". */
    private SimulatedTime.Task<StepResult> start(Propagation propagation, Propagation.Watch watch, Duration deadline) {
        Deadline fixed = Deadline.after(deadline, time, time.wallClock());
        return time.run("drain", () -> propagation.await(fixed, watch, traffic::set));
    }

    /** Moves the time to {@code at} (from the start of the test) and asserts that the step ends exactly then. */
    private StepResult endsAt(SimulatedTime.Task<StepResult> step, Duration at) throws Exception {
        time.advance(at.minus(time.elapsed()).minusNanos(1));
        assertThat(step.isDone()).as("still waiting a nanosecond before %s", at).isFalse();
        time.advance(Duration.ofNanos(1));
        assertThat(step.isDone()).as("ended at %s", at).isTrue();
        return step.result();
    }

    /** A request on {@code connection} now: its received bytes grow, the data arrived just now. */
    private void request(Connection connection) {
        bytes += 100;
        table.connections.put(connection, new Received(bytes, Duration.ZERO));
    }

    /** A new connection from {@code port} that carried a request. */
    private void connect(int port) throws Exception {
        table.connections.put(from("10.244.0.9", port), new Received(100, Duration.ZERO));
    }

    @Test
    void withoutTrafficItWaitsTheMinimumAfterTheWithdrawal() throws Exception {
        table.connections.put(from("10.244.0.9", 40000), new Received(100, Duration.ofSeconds(30))); // idle keep-alive: no hold
        Propagation propagation = quiet(table, ms(200), ms(600), Duration.ofSeconds(10), Duration.ofSeconds(5));
        StepResult result = endsAt(start(propagation, propagation.watch(), Duration.ofSeconds(20)), ms(600));

        assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(result.detail()).isEqualTo("traffic stopped: silent for 200ms (low traffic: 0 arrivals measured from the trigger prove no rate, "
                + "so also at least the minimum 600ms after the withdrawal), 0.600s after the withdrawal; "
                + "0 new connection(s) and 0 request(s) on open connections since the drain started");
        assertThat(traffic.get().stopped()).isTrue();
        assertThat(traffic.get().requestsBlindSpot()).isNull();
        assertThat(traffic.get().lastRequestSeconds()).isNull();
    }

    @Test
    void requestsOnAKeepAliveConnectionHoldTheStepUntilTheyStop() throws Exception {
        // How an ingress sends: no new connection, requests on one it holds. The step must see them.
        Connection pooled = from("10.244.0.9", 40000);
        request(pooled);
        Propagation propagation = quiet(table, ms(300), ms(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
        SimulatedTime.Task<StepResult> step = start(propagation, propagation.watch(), Duration.ofSeconds(20));
        for (int i = 0; i < 30; i++) { // a request every 50 ms for 1.5 s: the last one seen by the poll at 1.5 s
            time.advance(POLL);
            request(pooled);
            assertThat(step.isDone()).as("requests still arriving at %s", time.elapsed()).isFalse();
        }
        StepResult result = endsAt(step, ms(1550 + 300)); // the last request + the quiet period

        assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
        // The rate window is the 200 ms minimum: requests seen at 0.1, 0.15 and 0.2 s, a mean gap of 66 ms.
        assertThat(result.detail()).startsWith("traffic stopped: silent for 300ms (sparse traffic: the 3 arrivals measured from the trigger, mean gap 66ms, "
                + "so 10 gaps would be longer than the minimum; the quiet period and at least the minimum 200ms after the withdrawal), 1.850s after the withdrawal");
        TrafficReport seen = traffic.get();
        assertThat(seen.newConnections()).isZero();
        assertThat(seen.requests()).isEqualTo(30);
        assertThat(seen.lastRequestSeconds()).isEqualTo(1.55);
        assertThat(seen.lastRequestConnection()).isEqualTo("reused");
        assertThat(seen.lastRequestPeer()).isEqualTo("10.244.0.9:40000");
        assertThat(seen.stopped()).isTrue();
        assertThat(seen.stillSending()).isEmpty();
    }

    @Test
    void withoutSsOnlyNewConnectionsAreSeenSoKeepAliveRequestsDoNotHoldTheStep() throws Exception {
        // The blind spot of /proc/net/tcp, which the report names: why the image ships ss.
        table.blindSpot = "no ss in this test";
        Connection pooled = from("10.244.0.9", 40000);
        table.connections.put(pooled, Received.UNKNOWN);
        Propagation propagation = quiet(table, ms(300), ms(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
        SimulatedTime.Task<StepResult> step = start(propagation, propagation.watch(), Duration.ofSeconds(20));
        StepResult result = endsAt(step, ms(300)); // requests on it the whole time, which /proc/net/tcp cannot show

        assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(traffic.get().requests()).isZero();
        assertThat(traffic.get().requestsBlindSpot()).isEqualTo("no ss in this test");
        assertThat(result.detail()).endsWith("; no ss in this test");
    }

    @Test
    void keepAliveRequestsThatNeverStopCountOnlyUntilKeepAliveWaitAndAreReported() throws Exception {
        // A client pinned to the pod by conntrack sends on its connection until the app closes it: waiting longer
        // changes nothing, so after keepAliveWait only new connections count.
        Connection pinned = from("10.244.0.9", 40000);
        request(pinned);
        Propagation propagation = quiet(table, ms(300), ms(200), Duration.ofSeconds(10), Duration.ofSeconds(1));
        SimulatedTime.Task<StepResult> step = start(propagation, propagation.watch(), Duration.ofSeconds(20));
        while (!step.isDone()) { // a request every 50 ms, for as long as the step runs
            assertThat(time.elapsed()).isLessThan(Duration.ofSeconds(5));
            time.advance(POLL);
            request(pinned);
        }

        assertThat(time.elapsed()).as("keepAliveWait after the withdrawal, when requests on connections already open stop counting")
                .isEqualTo(Duration.ofSeconds(1));
        assertThat(step.result().outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(traffic.get().stopped()).isTrue();
        assertThat(traffic.get().stillSending()).containsExactly("10.244.0.9");
        assertThat(step.result().detail()).contains("still sending on keep-alive connections (pinned by conntrack, or a consumer lagging more than keepAliveWait): 10.244.0.9");
    }

    /**
     * The step of a drain that knows an Ingress routes to the pod, with a request on {@code pooled} just before it: quiet
     * period 300 ms, minimum 200 ms, {@code maximum}, keepAliveWait 1 s.
     */
    private SimulatedTime.Task<StepResult> behindAnIngress(Connection pooled, Duration maximum) {
        request(pooled);
        Propagation propagation = quiet(table, ms(300), ms(200), maximum, Duration.ofSeconds(1));
        Propagation.Watch watch = propagation.watch();
        watch.countHeldConnectionsUntilStopped();
        return start(propagation, watch, Duration.ofSeconds(20));
    }

    @Test
    void behindAnIngressKeepAliveRequestsHoldTheStepPastKeepAliveWaitUntilTheyStop() throws Exception {
        // An ingress controller sends on the connections it pools until it applies the endpoint change, here 3 s
        // after the withdrawal: waiting is what moves it, so its requests count for as long as they come.
        Connection pooled = from("10.244.0.7", 40000);
        SimulatedTime.Task<StepResult> step = behindAnIngress(pooled, Duration.ofSeconds(10));
        for (int i = 0; i < 60; i++) { // a request every 50 ms for 3 s (keepAliveWait is 1 s): the last seen at 3.05 s
            time.advance(POLL);
            request(pooled);
            assertThat(step.isDone()).as("ended at %s under live keep-alive traffic", time.elapsed()).isFalse();
        }
        StepResult result = endsAt(step, ms(3050 + 300)); // the last request + the quiet period

        assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(traffic.get().stopped()).isTrue();
        assertThat(traffic.get().stillSending()).isEmpty();
        assertThat(traffic.get().lastRequestConnection()).isEqualTo("reused");
    }

    @Test
    void behindAnIngressKeepAliveRequestsThatNeverStopHoldTheStepToTheMaximumAndAreNamed() throws Exception {
        Connection pooled = from("10.244.0.7", 40000);
        SimulatedTime.Task<StepResult> step = behindAnIngress(pooled, Duration.ofSeconds(4));
        while (!step.isDone()) {
            assertThat(time.elapsed()).isLessThanOrEqualTo(Duration.ofSeconds(4));
            time.advance(POLL);
            request(pooled);
        }

        assertThat(time.elapsed()).as("the maximum after the withdrawal").isEqualTo(Duration.ofSeconds(4));
        assertThat(step.result().outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(traffic.get().stopped()).isFalse();
        assertThat(traffic.get().stillSending()).containsExactly("10.244.0.7");
    }

    @Test
    void trafficThatStoppedDuringTheWithdrawalEndsTheStepAtOnce() throws Exception {
        // Watching from the trigger: a withdrawal that took a second already proved the silence.
        Propagation propagation = quiet(table, ms(300), Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(5));
        Propagation.Watch watch = propagation.watch();
        for (int i = 0; i < 40; i++) { // steady traffic: 40 new connections in 1 s, then none
            connect(41000 + i);
            time.advance(ms(25));
        }
        time.advance(ms(1200)); // the withdraw step
        SimulatedTime.Task<StepResult> step = start(propagation, watch, Duration.ofSeconds(20));

        assertThat(step.isDone()).as("no minimum with a measured rate; the silence began before the withdrawal").isTrue();
        assertThat(step.result().outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(traffic.get().newConnections()).isEqualTo(40);
        assertThat(traffic.get().withdrawnSeconds()).isEqualTo(2.2);
        assertThat(traffic.get().afterWithdrawal(traffic.get().lastRequestSeconds())).isZero();
    }

    @Test
    void sparseTrafficMustBeSilentForTenOfItsMeanGaps() throws Exception {
        // A quiet period that sparse traffic reaches by chance is no proof that load balancers stopped sending.
        Propagation propagation = quiet(table, ms(500), Duration.ofSeconds(3), Duration.ofSeconds(15), Duration.ofSeconds(5));
        Propagation.Watch watch = propagation.watch();
        for (int i = 0; i < 15; i++) { // during the withdraw step, a new connection every 100 ms ...
            time.advance(ms(100));
            connect(41000 + i);
        }
        // ... measured until the last of them (15 arrivals are enough): ten mean gaps within the 3 s minimum.
        SimulatedTime.Task<StepResult> step = start(propagation, watch, Duration.ofSeconds(20));
        // Seen at 0.15 s ... 1.55 s: 15 arrivals in 1.55 s, a mean gap of 103 ms; 1.033 s of silence after the last.
        StepResult result = endsAt(step, ms(2600)); // 1.55 s + 1.033 s, on the step's 50 ms grid

        assertThat(result.detail()).startsWith("traffic stopped: silent for 1033ms (10 mean gaps of the 15 arrivals measured from the trigger "
                + "(in the 1550ms until the last))");
        assertThat(traffic.get().requiredQuietSeconds()).isEqualTo(1.033);
        assertThat(traffic.get().lastRequestSeconds()).isEqualTo(1.55);
    }

    @Test
    void aPodBusyJustBeforeTheTriggerEndsWithoutTheLowTrafficMinimum() throws Exception {
        // Fast consumers moved away before the preStop came: the drain itself sees nothing, but the first look shows
        // 100 connections the app closed in the 10 s it has been up (TIME_WAIT): ten a second.
        for (int i = 0; i < 100; i++) {
            table.connections.put(from("10.244.0.9", 41000 + i), Received.CLOSED_BY_APP);
        }
        Propagation propagation = quiet(table, ms(300), Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(8));
        Propagation.Watch watch = propagation.watch();
        time.advance(ms(200)); // the withdraw step
        StepResult result = endsAt(start(propagation, watch, Duration.ofSeconds(20)), Duration.ofSeconds(1));

        assertThat(result.detail()).contains("10 mean gaps of the new connections before the trigger (100 the app closed in the last 10s)");
        assertThat(traffic.get().requiredQuietSeconds()).isEqualTo(1.0);
    }

    @Test
    void theKernelsCountOfAcceptedConnectionsTellsARateTheClosesUnderstate() throws Exception {
        // Of the 80 connections the app accepted in the 5 s before the trigger, the clients closed most first: only 12
        // TIME_WAITs are left in the pod. The kernel's count (less the agent's own) sees all 80: 16 a second.
        for (int i = 0; i < 12; i++) {
            table.connections.put(from("10.244.0.9", 41000 + i), Received.closedByApp(Duration.ofMillis(400 * i)));
        }
        AtomicLong kernel = new AtomicLong(1_000);
        AtomicLong agent = new AtomicLong(10);
        RecentAccepts accepts = new RecentAccepts(kernel::get, agent::get, () -> Set.of(8080, 8081), Set.of(8080), () -> 8081, time);
        accepts.sample();
        time.advance(Duration.ofSeconds(5));
        kernel.addAndGet(80 + 3); // and three probes of the agent
        agent.addAndGet(3);
        // (the scripted count then stays put: no connection comes after the trigger)
        Propagation propagation = Propagation.quiet(new Propagation.Rules(ms(300), Duration.ofSeconds(5), Duration.ofSeconds(15),
                Duration.ofSeconds(8)), table, Optional.of(accepts), POLL, time);
        Propagation.Watch watch = propagation.watch();
        time.advance(ms(200)); // the withdraw step
        StepResult result = endsAt(start(propagation, watch, Duration.ofSeconds(20)), Duration.ofMillis(5650)); // silent since the trigger at 5 s: 0.625 s later, on the 50 ms grid

        assertThat(result.detail()).contains("10 mean gaps of the new connections before the trigger (80 the app accepted in the last 5s, "
                + "the kernel's count)");
        assertThat(traffic.get().requiredQuietSeconds()).isEqualTo(0.625);
    }

    @Test
    void trafficTooSparseForTenGapsWithinTheMinimumWaitsTheMinimumInstead() throws Exception {
        // Ten gaps of a kubelet probe every 400 ms would be 4 s (and a probe every 5 s: past any maximum).
        Propagation propagation = quiet(table, ms(300), ms(1500), Duration.ofSeconds(15), Duration.ofSeconds(5));
        Propagation.Watch watch = propagation.watch();
        for (int i = 0; i < 4; i++) {
            time.advance(ms(400));
            connect(41000 + i);
        }
        StepResult result = endsAt(start(propagation, watch, Duration.ofSeconds(20)), ms(1600 + 1500)); // the withdrawal + the minimum

        // Seen at 0.45, 0.85, 1.25 s (the fourth at 1.65 s, after the withdrawal): three arrivals in the 1.5 s window.
        assertThat(result.detail()).contains("sparse traffic: the 3 arrivals measured from the trigger, mean gap 533ms")
                .contains("at least the minimum 1500ms after the withdrawal");
        assertThat(traffic.get().requiredQuietSeconds()).isEqualTo(0.3);
    }

    @Test
    void probesAfterTheTrafficMovedAwayDoNotStretchTheRequiredSilence() throws Exception {
        // The rate is measured up to the withdrawal: a kubelet probe every 400 ms afterwards is no rate to wait ten gaps of.
        Propagation propagation = quiet(table, ms(300), ms(500), Duration.ofSeconds(10), Duration.ofSeconds(5));
        Propagation.Watch watch = propagation.watch();
        for (int i = 0; i < 40; i++) { // the traffic before the withdrawal: 40 new connections in 1 s
            connect(41000 + i);
            time.advance(ms(25));
        }
        SimulatedTime.Task<StepResult> step = start(propagation, watch, Duration.ofSeconds(20));
        time.advance(ms(100));
        connect(42000); // a kubelet probe after the withdrawal, seen at 1.15 s; the next would come 400 ms later
        StepResult result = endsAt(step, ms(1150 + 300)); // a silence between two probes ends it

        assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(traffic.get().requiredQuietSeconds()).isEqualTo(0.3);
        assertThat(traffic.get().newConnections()).isEqualTo(41);
    }

    @Test
    void aConnectionThatNeverSendsIsNoTraffic() throws Exception {
        // A load balancer's TCP health check connects and stays silent: it must not hold the drain.
        Propagation propagation = quiet(table, ms(300), ms(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
        Propagation.Watch watch = propagation.watch();
        for (int i = 0; i < 5; i++) {
            table.connections.put(from("10.244.0.1", 43000 + i), new Received(0, Duration.ofSeconds(1)));
            time.advance(ms(100));
        }
        SimulatedTime.Task<StepResult> step = start(propagation, watch, Duration.ofSeconds(20));
        for (int i = 5; !step.isDone(); i++) { // one every 100 ms, for as long as the step runs
            assertThat(i).isLessThan(40);
            table.connections.put(from("10.244.0.1", 43000 + i), new Received(0, Duration.ofSeconds(1)));
            time.advance(ms(100));
        }

        assertThat(time.elapsed()).as("the withdrawal at 0.5 s + the minimum").isEqualTo(ms(700));
        assertThat(step.result().outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(traffic.get().newConnections()).isZero();
    }

    @Test
    void itStopsAtTheMaximumWhileNewConnectionsKeepArrivingAndNamesWhoSentThem() throws Exception {
        Propagation propagation = quiet(table, ms(500), ms(200), ms(1000), ms(500));
        SimulatedTime.Task<StepResult> step = start(propagation, propagation.watch(), Duration.ofSeconds(20));
        for (int i = 0; i < 9; i++) { // a new connection every 100 ms
            connect(41000 + i);
            time.advance(ms(100));
        }
        connect(41009);
        StepResult result = endsAt(step, ms(1000));

        assertThat(result.outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(result.cutByDeadline()).isFalse();
        assertThat(result.error()).isEqualTo("traffic was still arriving at the maximum 1s (silent for only 0.050s of the 500ms required), from 10.244.0.9");
        assertThat(traffic.get().stopped()).isFalse();
        assertThat(traffic.get().stillSending()).containsExactly("10.244.0.9");
        assertThat(traffic.get().watchedSeconds()).isEqualTo(1.0);
    }

    @Test
    void theDrainDeadlineCutsItShortBeforeTheMaximum() throws Exception {
        Propagation propagation = quiet(table, ms(500), ms(200), Duration.ofSeconds(10), Duration.ofSeconds(5));
        SimulatedTime.Task<StepResult> step = start(propagation, propagation.watch(), ms(800));
        for (int i = 0; i < 7; i++) {
            connect(41000 + i);
            time.advance(ms(100));
        }
        StepResult result = endsAt(step, ms(800));

        assertThat(result.outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(result.cutByDeadline()).isTrue();
        assertThat(result.error()).isEqualTo("cut short by the drain deadline");
        assertThat(traffic.get().watchedSeconds()).isEqualTo(0.8);
    }

    @Test
    void theFixedModeWaitsItsDelayAndStillReportsTheTraffic() throws Exception {
        Propagation propagation = Propagation.fixed(ms(900), new Propagation.Rules(ms(300), Duration.ZERO, Duration.ofSeconds(5),
                Duration.ofSeconds(5)), table, POLL, time);
        SimulatedTime.Task<StepResult> step = start(propagation, propagation.watch(), Duration.ofSeconds(20));
        for (int i = 0; i < 3; i++) {
            time.advance(ms(100));
            connect(41000 + i);
        }
        StepResult result = endsAt(step, ms(900));

        assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(result.detail()).startsWith("waited 0.900s for load balancers to catch up; 3 new connection(s)");
        assertThat(traffic.get().newConnections()).isEqualTo(3);
        assertThat(traffic.get().lastNewConnectionSeconds()).isEqualTo(0.35);
    }

    @Test
    void aWatchedPortNothingListensOnIsWarnedAboutAndReported() throws Exception {
        table.listening = Set.of(); // the app listens on another port than the one configured
        try (LogCapture logs = LogCapture.of(Propagation.class)) {
            Propagation propagation = quiet(table, ms(100), ms(100), ms(700), ms(100));
            endsAt(start(propagation, propagation.watch(), Duration.ofSeconds(20)), ms(100));

            assertThat(traffic.get().unheardPorts()).containsExactly(8080);
            assertThat(logs.messages(Level.WARN)).anySatisfy(warning -> assertThat(warning)
                    .contains("nothing listens on watched port(s) [8080]", "drain.propagation.ports"));
        }
        ScriptedConnections listened = ScriptedConnections.onPort8080();
        Propagation propagation = quiet(listened, ms(100), ms(100), ms(700), ms(100));
        endsAt(start(propagation, propagation.watch(), Duration.ofSeconds(20)), ms(200));
        assertThat(traffic.get().unheardPorts()).isEmpty();
    }

    @Test
    void aTableThatCannotBeReadMeansWaitingTheMaximum() throws Exception {
        AppConnections broken = ScriptedConnections.unreadable("/proc/net/tcp: permission denied");
        Propagation propagation = quiet(broken, ms(100), ms(100), ms(700), ms(100));
        StepResult result = endsAt(start(propagation, propagation.watch(), Duration.ofSeconds(20)), ms(700));

        assertThat(result.outcome()).isEqualTo(Outcome.FAILED);
        assertThat(result.error()).isEqualTo("cannot read the TCP connection table: /proc/net/tcp: permission denied; waited the maximum 700ms instead");
        assertThat(traffic.get().error()).startsWith("cannot read the TCP connection table");
    }

    @Test
    void simulatedTimeCannotBeSleptOnByTheTestThread() {
        Propagation propagation = quiet(table, ms(100), ms(100), ms(700), ms(100));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> propagation.await(Deadline.after(Duration.ofSeconds(1), time, time.wallClock()),
                propagation.watch(), traffic::set)).isInstanceOf(IllegalStateException.class).hasMessageContaining("run the code under test with run(...)");
    }

    // Real time, real sockets: the smoke tests.

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
    void realTimeSmokeRequestsOnARealKeepAliveConnectionHoldTheStepUntilTheyStop() throws Exception {
        // The system clock, real sleeps, the real ss reading a real loopback app: the step sees the requests and ends
        // only after they stopped. The timing rules themselves are the simulated tests' job.
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try (LoopbackApp app = new LoopbackApp()) {
            Socket pooled = app.connect();
            Propagation propagation = Propagation.quiet(new Propagation.Rules(ms(300), ms(200), Duration.ofSeconds(10), Duration.ofSeconds(5)),
                    app.connections(), POLL, TimeSource.SYSTEM);
            Propagation.Watch watch = propagation.watch();
            Future<StepResult> step = executor.submit(() -> propagation.await(Deadline.after(Duration.ofSeconds(20)), watch, traffic::set));
            for (int i = 0; i < 20; i++) { // a request every 50 ms for about a second
                LoopbackApp.send(pooled);
                TimeUnit.MILLISECONDS.sleep(50);
            }
            boolean endedWhileSending = step.isDone();
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(endedWhileSending).as("the step ended while requests still came").isFalse();
            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(traffic.get().requests()).isGreaterThanOrEqualTo(10);
            assertThat(traffic.get().lastRequestConnection()).isEqualTo("reused");
            assertThat(traffic.get().lastRequestPeer()).isEqualTo("127.0.0.1:" + pooled.getLocalPort());
            assertThat(traffic.get().stopped()).isTrue();
        } finally {
            executor.shutdownNow();
        }
    }
}
