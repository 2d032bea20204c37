package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.DrainCoordinator;
import io.lameduck.drain.Drainer;
import io.lameduck.drain.ProbeWithdrawal;
import io.lameduck.drain.Propagation;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.maintenance.Maintenance;
import io.lameduck.restart.RestartStatus;
import io.lameduck.time.TimeSource;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The admin listener opened before the agent is wired ({@link AdminServer#listenEarly}, real Jetty on loopback): it
 * answers the probes at once, everything else 503 until {@link AdminServer#serve} installs the endpoints, and
 * {@code /readyz} passes before READY only when the wiring allows it (a readiness gate on the agent's first run).
 */
class EarlyListenerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient client = HttpClient.newHttpClient();
    private final ExecutorService hooks = Executors.newCachedThreadPool();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final Lifecycle lifecycle = new Lifecycle();
    private final LongAdder accepted = new LongAdder();
    private AdminServer server;

    @AfterEach
    void shutdown() throws Exception {
        if (server != null) {
            server.stop(Duration.ofSeconds(5));
        }
        hooks.shutdownNow();
        scheduler.shutdownNow();
    }

    private HttpResponse<String> send(String method, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode json(HttpResponse<String> reply) throws Exception {
        return JSON.readTree(reply.body());
    }

    /** Installs the endpoints on the listening server, as the agent does once it has connected. */
    private void serve(boolean readyWhileStarting) {
        ProbeWithdrawal withdrawal = new ProbeWithdrawal();
        Drainer drainer = new Drainer(lifecycle, withdrawal, List.of(), Duration.ofSeconds(1),
                Propagation.fixed(Duration.ofMillis(100)), hooks, TimeSource.SYSTEM);
        DrainCoordinator drains = new DrainCoordinator(drainer, BudgetSource.fixed(Duration.ofSeconds(5)), Duration.ofSeconds(5),
                Duration.ofSeconds(1), TimeSource.SYSTEM);
        Maintenance maintenance = new Maintenance(lifecycle, withdrawal, Duration.ofSeconds(1), status -> {}, scheduler, TimeSource.SYSTEM);
        server.serve(new AdminServer.Settings("127.0.0.1", 0, "", Optional.empty()),
                new AdminServer.Wiring(lifecycle, maintenance, drains, Map.of(), "test", (trigger, forGood) -> drains.trigger(trigger),
                        () -> RestartStatus.NONE, readyWhileStarting),
                Optional.empty(), RequestObserver.NONE, PrestopAccess.STANDALONE);
    }

    @Test
    void beforeTheEndpointsAreInstalledOnlyTheProbesAnswer() throws Exception {
        server = AdminServer.listenEarly("127.0.0.1", 0, accepted, false);
        assertThat(server.listening()).isTrue();

        HttpResponse<String> live = send("GET", "/livez");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(json(live).get("state").asText()).isEqualTo("STARTING");
        HttpResponse<String> ready = send("GET", "/readyz");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(json(ready).get("ready").asBoolean()).isFalse();
        assertThat(json(ready).get("reason").asText()).contains("connecting to the Kubernetes API");
        for (String path : new String[] {"/status", "/prestop", "/metrics", "/maintenance", "/nowhere"}) {
            HttpResponse<String> other = send("GET", path);
            assertThat(other.statusCode()).as(path).isEqualTo(503);
            assertThat(other.headers().firstValue("Retry-After")).as(path).hasValue("1");
            assertThat(json(other).get("error").asText()).as(path).contains("starting");
        }
        HttpResponse<String> post = send("POST", "/readyz");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET");
        assertThat(accepted.sum()).as("connections counted from the first").isPositive();
    }

    @Test
    void withAReadinessGateOnTheFirstRunReadinessPassesWhileStartingAndFollowsTheLifecycleOnce() throws Exception {
        server = AdminServer.listenEarly("127.0.0.1", 0, accepted, true);
        HttpResponse<String> early = send("GET", "/readyz");
        assertThat(early.statusCode()).isEqualTo(200);
        assertThat(json(early).get("state").asText()).isEqualTo("STARTING");
        assertThat(json(early).get("reason").asText()).contains("readiness gate");

        serve(true);
        assertThat(send("GET", "/status").statusCode()).as("the endpoints are installed on the running listener").isEqualTo(200);
        assertThat(send("GET", "/readyz").statusCode()).as("CREATED").isEqualTo(200);
        lifecycle.moveTo(State.STARTING, "test");
        assertThat(send("GET", "/readyz").statusCode()).as("STARTING").isEqualTo(200);
        lifecycle.moveTo(State.READY, "test");
        HttpResponse<String> ready = send("GET", "/readyz");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(json(ready).has("reason")).isFalse();
        lifecycle.moveTo(State.DRAINING, "test");
        assertThat(send("GET", "/readyz").statusCode()).as("a drain withdraws, whatever the start-up allowed").isEqualTo(503);
    }

    @ParameterizedTest
    @ValueSource(strings = {"CREATED", "STARTING"})
    void withoutItReadinessFailsUntilReady(String state) throws Exception {
        server = AdminServer.listenEarly("127.0.0.1", 0, accepted, false);
        serve(false);
        if (State.valueOf(state) == State.STARTING) {
            lifecycle.moveTo(State.STARTING, "test");
        }
        HttpResponse<String> reply = send("GET", "/readyz");
        assertThat(reply.statusCode()).isEqualTo(503);
        assertThat(json(reply).get("reason").asText()).startsWith("state is " + state);
        lifecycle.moveTo(State.READY, "test");
        assertThat(send("GET", "/readyz").statusCode()).isEqualTo(200);
    }

    @Test
    void aSecondListenerOnTheSamePortFailsWithTheBindError() throws Exception {
        server = AdminServer.listenEarly("127.0.0.1", 0, accepted, false);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AdminServer.listenEarly("127.0.0.1", server.port(), new LongAdder(), false))
                .isInstanceOf(ListenerBindException.class).hasMessageContaining("server.port");
    }
}
