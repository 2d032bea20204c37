package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.DrainCoordinator;
import io.lameduck.drain.Drainer;
import io.lameduck.drain.ProbeWithdrawal;
import io.lameduck.drain.Propagation;
import io.lameduck.drain.Ticker;
import io.lameduck.drain.Trigger;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.maintenance.Maintenance;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
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

/**
 * A {@code /prestop} that joins a drain still reading its budget (an API read of up to 2 s on Kubernetes) must wait
 * for the whole drain. Seen on a real node with the native sidecar: the deletion watch started the drain, the
 * kubelet's preStop joined while the budget was being read, got the live report after the fixed 2 s grace, and the
 * kubelet SIGTERMed the app mid-drain.
 */
class PrestopDuringBudgetReadTest {
    private static final Duration SLOW_BUDGET_READ = Duration.ofSeconds(3); // longer than AdminServlet's grace
    private final ExecutorService hooks = Executors.newCachedThreadPool();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void shutdown() {
        hooks.shutdownNow();
        scheduler.shutdownNow();
    }

    @Test
    void prestopJoiningADrainWhoseBudgetReadIsSlowGetsTheFinishedReport() throws Exception {
        Lifecycle lifecycle = new Lifecycle();
        ProbeWithdrawal withdrawal = new ProbeWithdrawal();
        Drainer drainer = new Drainer(lifecycle, withdrawal, List.of(), Duration.ofSeconds(1),
                Propagation.fixed(Duration.ofMillis(500)), hooks, Ticker.SYSTEM);
        CountDownLatch budgetAsked = new CountDownLatch(1);
        BudgetSource slow = () -> {
            budgetAsked.countDown();
            try {
                TimeUnit.MILLISECONDS.sleep(SLOW_BUDGET_READ.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new BudgetSource.Budget(Duration.ofSeconds(30), "a slow API read");
        };
        DrainCoordinator drains = new DrainCoordinator(drainer, slow, Duration.ofSeconds(1), Ticker.SYSTEM, Clock.systemUTC());
        Maintenance maintenance = new Maintenance(lifecycle, withdrawal, Duration.ofSeconds(1), status -> {}, scheduler,
                Clock.systemUTC());
        AdminServer server = new AdminServer(new AdminServer.Settings("127.0.0.1", 0, "", Optional.empty()),
                new AdminServer.Wiring(lifecycle, maintenance, drains, Map.of(), "test"), Optional.empty(), RequestObserver.NONE);
        lifecycle.moveTo(State.STARTING, "test");
        server.start();
        try {
            lifecycle.moveTo(State.READY, "test");
            drains.trigger(Trigger.POD_DELETION); // as the deletion watch does
            assertThat(budgetAsked.await(5, TimeUnit.SECONDS)).isTrue();

            HttpResponse<String> reply = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/prestop")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());

            JsonNode report = new ObjectMapper().readTree(reply.body());
            assertThat(reply.statusCode()).isEqualTo(200);
            assertThat(report.path("outcome").asText()).as(reply.body()).isEqualTo("completed");
            assertThat(report.path("trigger").asText()).isEqualTo("pod-deletion");
            assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
        } finally {
            server.stop(Duration.ofSeconds(10));
        }
    }
}
