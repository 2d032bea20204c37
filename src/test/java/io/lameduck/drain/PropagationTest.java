package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The quiet propagation mode against a real application on loopback (real sockets, real /proc/net/tcp). */
class PropagationTest {
    private static final Duration POLL = Duration.ofMillis(50);
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final AtomicReference<TrafficReport> traffic = new AtomicReference<>();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    private final CountDownLatch baselineTaken = new CountDownLatch(1);

    private Propagation quiet(LoopbackApp app, Duration quietPeriod, Duration minimum, Duration maximum) {
        return Propagation.quiet(quietPeriod, minimum, maximum, observed(app.connections()), POLL, Ticker.SYSTEM, Clock.systemUTC());
    }

    /** The real table, noting when the step took its baseline (its first read). */
    private AppConnections observed(AppConnections real) {
        return new AppConnections() {
            @Override
            public List<Integer> ports() {
                return real.ports();
            }

            @Override
            public Set<Connection> now() throws IOException {
                Set<Connection> now = real.now();
                baselineTaken.countDown();
                return now;
            }
        };
    }

    /** Runs the step on its own thread, so the test can make traffic meanwhile; returns once its baseline is taken. */
    private Future<StepResult> start(Propagation propagation, Deadline deadline) throws InterruptedException {
        Future<StepResult> step = executor.submit(() -> propagation.await(deadline, traffic::set));
        assertThat(baselineTaken.await(5, TimeUnit.SECONDS)).isTrue();
        return step;
    }

    /** Opens a new connection every 100 ms until {@code until} has passed since {@code startNanos}; returns when it opened the last. */
    private static long traffic(LoopbackApp app, long startNanos, Duration until) throws Exception {
        long last = startNanos;
        while (System.nanoTime() - startNanos < until.toNanos()) {
            app.connect();
            last = System.nanoTime();
            TimeUnit.MILLISECONDS.sleep(100); // the pace of the simulated clients
        }
        return last;
    }

    @Test
    void withoutTrafficItEndsAtTheMinimum() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            app.connect(); // an old keep-alive connection does not hold the step
            long start = System.nanoTime();
            StepResult result = quiet(app, Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofSeconds(10))
                    .await(Deadline.after(Duration.ofSeconds(20)), traffic::set);
            double took = (System.nanoTime() - start) / 1e9;

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(result.cutByDeadline()).isFalse();
            assertThat(result.detail()).matches("no new connection for 200ms after [01]\\.\\d+s; .*").endsWith("; no new connection after the withdrawal");
            assertThat(took).isBetween(0.4, 2.0);
            assertThat(traffic.get().newConnections()).isZero();
            assertThat(traffic.get().lastNewConnectionSeconds()).isNull();
            assertThat(traffic.get().quietSeconds()).isGreaterThanOrEqualTo(0.35);
        }
    }

    @Test
    void newConnectionsExtendItUntilTheyStopForTheQuietPeriod() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            long start = System.nanoTime();
            // a new connection every 100 ms: ten mean gaps (about 1 s) are shorter than the quiet period, which governs
            Future<StepResult> step = start(quiet(app, Duration.ofMillis(2500), Duration.ofMillis(200), Duration.ofSeconds(10)),
                    Deadline.after(Duration.ofSeconds(20)));
            long last = traffic(app, start, Duration.ofMillis(1200));
            StepResult result = step.get(15, TimeUnit.SECONDS);
            double took = (System.nanoTime() - start) / 1e9;
            double lastAt = (last - start) / 1e9;

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(result.detail()).startsWith("no new connection for 2500ms after").contains("from 127.0.0.1:");
            assertThat(took).as("ends a quiet period after the last new connection at %.2fs", lastAt).isBetween(lastAt + 2.45, lastAt + 4.5);
            TrafficReport seen = traffic.get();
            assertThat(seen.newConnections()).isGreaterThanOrEqualTo(8);
            assertThat(seen.lastNewConnectionSeconds()).isBetween(lastAt - 0.3, lastAt + 0.3);
            assertThat(seen.sources()).extracting(TrafficReport.Source::address).containsExactly("127.0.0.1");
            assertThat(seen.quietSeconds()).isGreaterThanOrEqualTo(2.5);
        }
    }

    @Test
    void sparseTrafficMustBeSilentForTenOfItsMeanGapsNotJustTheQuietPeriod() throws Exception {
        // A quiet period that sparse traffic reaches by chance is no proof that load balancers stopped sending.
        try (LoopbackApp app = new LoopbackApp()) {
            long start = System.nanoTime();
            Future<StepResult> step = start(quiet(app, Duration.ofMillis(500), Duration.ofMillis(1500), Duration.ofSeconds(15)),
                    Deadline.after(Duration.ofSeconds(20)));
            long last = start;
            for (int i = 0; i < 5; i++) { // a new connection every 250 ms within the minimum: ten mean gaps are 3 s
                TimeUnit.MILLISECONDS.sleep(250);
                app.connect();
                last = System.nanoTime();
            }
            StepResult result = step.get(15, TimeUnit.SECONDS);
            double took = (System.nanoTime() - start) / 1e9;
            double lastAt = (last - start) / 1e9;
            double required = 10 * 1.5 / traffic.get().newConnections();

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(result.detail()).matches("no new connection for \\d+(ms|s) \\(10 mean gaps of the new connections in the first 1500ms\\) after .*");
            assertThat(took).as("ten mean gaps (%.2fs) after the last new connection at %.2fs", required, lastAt)
                    .isBetween(lastAt + required - 0.3, lastAt + required + 2.5);
            assertThat(required).isGreaterThan(2.0);
        }
    }

    @Test
    void aFewStrayConnectionsAreNoRateAndTheQuietPeriodStands() throws Exception {
        // e.g. the kubelet probing the app port every few seconds after load balancers stopped: no reason to wait longer
        try (LoopbackApp app = new LoopbackApp()) {
            long start = System.nanoTime();
            Future<StepResult> step = start(quiet(app, Duration.ofMillis(500), Duration.ofMillis(1000), Duration.ofSeconds(15)),
                    Deadline.after(Duration.ofSeconds(20)));
            TimeUnit.MILLISECONDS.sleep(700);
            app.connect();
            long last = System.nanoTime();
            StepResult result = step.get(15, TimeUnit.SECONDS);
            double took = (System.nanoTime() - start) / 1e9;
            double lastAt = (last - start) / 1e9;

            assertThat(result.detail()).startsWith("no new connection for 500ms after");
            assertThat(took).isBetween(Math.max(1.0, lastAt + 0.45), lastAt + 2.5);
        }
    }

    @Test
    void itStopsAtTheMaximumWhileConnectionsKeepArriving() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            long start = System.nanoTime();
            Future<StepResult> step = start(quiet(app, Duration.ofMillis(500), Duration.ofMillis(200), Duration.ofMillis(1000)),
                    Deadline.after(Duration.ofSeconds(20)));
            traffic(app, start, Duration.ofMillis(1600));
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(result.outcome()).isEqualTo(Outcome.TIMED_OUT);
            assertThat(result.cutByDeadline()).isFalse();
            assertThat(result.error()).startsWith("new connections were still arriving at the maximum 1s");
            assertThat(traffic.get().watchedSeconds()).isBetween(1.0, 2.5); // loose upper bounds: a loaded 2-core CI machine
        }
    }

    @Test
    void theDrainDeadlineCutsItShortBeforeTheMaximum() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            long start = System.nanoTime();
            Future<StepResult> step = start(quiet(app, Duration.ofMillis(500), Duration.ofMillis(200), Duration.ofSeconds(10)),
                    Deadline.after(Duration.ofMillis(800)));
            traffic(app, start, Duration.ofMillis(1400));
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
            Future<StepResult> step = start(Propagation.fixed(Duration.ofMillis(900), observed(app.connections()), POLL, Ticker.SYSTEM, Clock.systemUTC()),
                    Deadline.after(Duration.ofSeconds(20)));
            traffic(app, System.nanoTime(), Duration.ofMillis(300));
            StepResult result = step.get(15, TimeUnit.SECONDS);

            assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(result.detail()).matches("waited (0\\.9|1\\.)\\d+s for load balancers to catch up; .*").contains("for load balancers to catch up; ").contains("new connection(s)");
            assertThat(traffic.get().newConnections()).isBetween(1, 4);
            assertThat(traffic.get().lastNewConnectionSeconds()).isLessThan(traffic.get().watchedSeconds());
        }
    }
}
