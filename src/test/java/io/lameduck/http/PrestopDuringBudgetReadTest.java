package io.lameduck.http;

import static io.lameduck.testsupport.Slack.TOLERANCE;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.DrainCoordinator;
import io.lameduck.drain.Drainer;
import io.lameduck.drain.ProbeWithdrawal;
import io.lameduck.drain.Propagation;
import io.lameduck.drain.Trigger;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.logging.LogCapture;
import io.lameduck.maintenance.Maintenance;
import io.lameduck.time.TimeSource;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * A {@code /prestop} waits for the drain's deadline to be fixed, which happens once the budget has been read (an API
 * read of up to 2 s on Kubernetes). That read must neither cut the wait short nor, when it fails, make it endless.
 */
class PrestopDuringBudgetReadTest {
    private static final Duration SLOW_BUDGET_READ = Duration.ofSeconds(3); // longer than AdminServlet's grace
    private final ExecutorService hooks = Executors.newCachedThreadPool();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final Lifecycle lifecycle = new Lifecycle();
    private final LogCapture logs = LogCapture.of(DrainCoordinator.class);
    private AdminServer server;

    @AfterEach
    void shutdown() throws Exception {
        logs.close();
        if (server != null) {
            server.stop(Duration.ofSeconds(10));
        }
        hooks.shutdownNow();
        scheduler.shutdownNow();
    }

    /** A READY agent's admin server whose drains read their budget from {@code budget}; drain.budget is 3 s. */
    private DrainCoordinator serve(BudgetSource budget) throws Exception {
        ProbeWithdrawal withdrawal = new ProbeWithdrawal();
        Drainer drainer = new Drainer(lifecycle, withdrawal, List.of(), Duration.ofSeconds(1),
                Propagation.fixed(Duration.ofMillis(500)), hooks, TimeSource.SYSTEM);
        DrainCoordinator drains = new DrainCoordinator(drainer, budget, Duration.ofSeconds(3), Duration.ofSeconds(1),
                TimeSource.SYSTEM);
        Maintenance maintenance = new Maintenance(lifecycle, withdrawal, Duration.ofSeconds(1), status -> {}, scheduler,
                TimeSource.SYSTEM);
        server = new AdminServer(new AdminServer.Settings("127.0.0.1", 0, "", Optional.empty()),
                new AdminServer.Wiring(lifecycle, maintenance, drains, Map.of(), "test"), Optional.empty(), RequestObserver.NONE);
        lifecycle.moveTo(State.STARTING, "test");
        server.start();
        lifecycle.moveTo(State.READY, "test");
        return drains;
    }

    private HttpResponse<String> prestop() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/prestop"))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Seen on a real node with the native sidecar: the deletion watch started the drain, the kubelet's preStop joined
     * while the budget was being read, got the live report after the fixed 2 s grace, and the kubelet SIGTERMed the app
     * mid-drain.
     */
    @Test
    void prestopJoiningADrainWhoseBudgetReadIsSlowGetsTheFinishedReport() throws Exception {
        CountDownLatch budgetAsked = new CountDownLatch(1);
        DrainCoordinator drains = serve(() -> {
            budgetAsked.countDown();
            try {
                TimeUnit.MILLISECONDS.sleep(SLOW_BUDGET_READ.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new BudgetSource.Budget(Duration.ofSeconds(30), "a slow API read");
        });
        drains.trigger(Trigger.POD_DELETION); // as the deletion watch does
        assertThat(budgetAsked.await(5, TimeUnit.SECONDS)).isTrue();

        HttpResponse<String> reply = prestop();

        JsonNode report = new ObjectMapper().readTree(reply.body());
        assertThat(reply.statusCode()).isEqualTo(200);
        assertThat(report.path("outcome").asText()).as(reply.body()).isEqualTo("completed");
        assertThat(report.path("trigger").asText()).isEqualTo("pod-deletion");
        assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
    }

    /**
     * A budget that brings its own margin (a kubelet eviction: the app's shutdown time comes after its preStop, so only the
     * agent's stop is left out) gets a deadline of its total minus that margin, not minus drain.safetyMargin: with the
     * 1 s safety margin subtracted from the eviction's 2 s the drain would have ended at once.
     */
    @Test
    void aBudgetWithItsOwnMarginFixesTheDeadlineWithThatMarginInsteadOfTheSafetyMargin() throws Exception {
        serve(() -> new BudgetSource.Budget(Duration.ofMillis(1500), "an eviction", Optional.of(Duration.ofMillis(200)), Optional.empty()));

        HttpResponse<String> reply = prestop();

        JsonNode report = new ObjectMapper().readTree(reply.body());
        assertThat(report.path("deadlineSource").asText()).isEqualTo("an eviction 1.500s minus margin 0.200s");
        Duration allowed = Duration.between(Instant.parse(report.path("startedAt").asText()), Instant.parse(report.path("deadline").asText()));
        assertThat(allowed).as("1.5 s - 0.2 s, less the time the budget took to read").isBetween(Duration.ofMillis(1000), Duration.ofMillis(1300));
    }

    /**
     * A budget source that throws (a pod without metadata, a malformed deletionTimestamp, a bug) once left the deadline
     * unfixed: the drain never ran and the {@code /prestop} caller waited for ever. The drain now falls back to
     * drain.budget (3 s − 1 s margin), runs, and answers within that deadline.
     */
    @Test
    void aBudgetSourceThatThrowsFallsBackToDrainBudgetAndPrestopGetsTheFinishedReportWithinTheDeadline() throws Exception {
        serve(() -> {
            throw new IllegalStateException("injected: the pod has no metadata");
        });
        long start = System.nanoTime();

        HttpResponse<String> reply = prestop();

        Duration took = Duration.ofNanos(System.nanoTime() - start);
        JsonNode report = new ObjectMapper().readTree(reply.body());
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        assertThat(report.path("outcome").asText()).as(reply.body()).isEqualTo("completed");
        assertThat(report.path("trigger").asText()).isEqualTo("prestop");
        assertThat(report.path("deadlineSource").asText())
                .isEqualTo("drain.budget (the budget source failed: IllegalStateException) 3.000s minus safety margin 1.000s");
        assertThat(report.path("steps").findValuesAsText("name")).containsExactly("unready", "withdraw", "propagate", "hooks");
        Instant deadline = Instant.parse(report.path("deadline").asText());
        assertThat(Instant.parse(report.path("finishedAt").asText())).isBeforeOrEqualTo(deadline);
        assertThat(took).isLessThan(Duration.ofSeconds(2).plus(TOLERANCE)); // the deadline, counted from the trigger
        assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
        assertThat(logs.messages(Level.WARN)).singleElement().satisfies(warning -> assertThat(warning)
                .contains("cannot determine the drain budget")
                .contains("IllegalStateException: injected: the pod has no metadata").contains("using drain.budget 3s")
                .contains("keep drain.budget at or below its terminationGracePeriodSeconds"));
    }
}
