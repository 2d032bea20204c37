package io.lameduck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.lameduck.lifecycle.State;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The whole drain against a real application on loopback: a slow request is in flight when the drain
 * starts; the agent fails readiness, tells the app to drain, waits for the app's connections to end, and
 * only then reports. The in-flight request must succeed.
 */
class DrainEndToEndTest {
    private HttpServer app;
    private final CountDownLatch slowRequestArrived = new CountDownLatch(1);
    private final CountDownLatch releaseSlowRequest = new CountDownLatch(1);
    private final AtomicBoolean appDraining = new AtomicBoolean();

    @BeforeEach
    void startApp() throws IOException {
        app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        app.setExecutor(Executors.newCachedThreadPool());
        app.createContext("/slow", exchange -> {
            slowRequestArrived.countDown();
            try {
                releaseSlowRequest.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            respond(exchange, 200, "slow work done");
        });
        app.createContext("/drain", exchange -> {
            appDraining.set(true);
            respond(exchange, 202, "draining");
        });
        app.start();
    }

    /** Like a real app: once draining it closes connections after each response instead of keeping them alive. */
    private void respond(HttpExchange exchange, int status, String body) throws IOException {
        if (appDraining.get()) {
            exchange.getResponseHeaders().set("Connection", "close");
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    @AfterEach
    void stopApp() {
        releaseSlowRequest.countDown();
        app.stop(0);
    }

    @Test
    void drainWaitsForTheInFlightRequestWhichSucceeds() throws Exception {
        int appPort = app.getAddress().getPort();
        try (TestAgent agent = TestAgent.start("""
                drain:
                  budget: 30s
                  safetyMargin: 2s
                  propagationDelay: 200ms
                  hooks:
                    - {name: app-drain, type: http, priority: 10, timeout: 5s, method: POST, url: "http://127.0.0.1:%d/drain", expectStatus: 202}
                    - {name: connections, type: wait-idle, priority: 20, timeout: 20s, ports: [%d], quietPeriod: 300ms, pollInterval: 50ms}
                """.formatted(appPort, appPort))) {
            HttpClient client = HttpClient.newHttpClient();
            CompletableFuture<HttpResponse<String>> slow = client.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + appPort + "/slow")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(slowRequestArrived.await(10, TimeUnit.SECONDS)).isTrue();

            CompletableFuture<HttpResponse<String>> prestop = agent.http().sendAsync(
                    HttpRequest.newBuilder(agent.uri("/prestop")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());

            await().atMost(Duration.ofSeconds(10)).until(appDraining::get);
            assertThat(agent.get("/readyz").status()).isEqualTo(503);
            assertThat(agent.agent().lifecycle().state()).isEqualTo(State.DRAINING);
            // Polled: the hook's own connection to /drain may still be open for a moment after the app answered it.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(agent.get("/metrics").raw().body())
                    .contains("lameduck_app_connections{port=\"" + appPort + "\"} 1.0")
                    .contains("lameduck_state{lameduck_state=\"draining\"} 1")
                    .containsPattern("lameduck_drain_deadline_remaining_seconds 2[0-7]\\.\\d+")); // 28s usable, partly spent
            // wait-idle holds the drain while the request is in flight (checked over a few polls, not a sleep)
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !prestop.isDone());
            JsonNode live = agent.get("/status").json().get("drain");
            assertThat(live.get("outcome").asText()).isEqualTo("running");

            releaseSlowRequest.countDown();
            HttpResponse<String> slowResponse = slow.get(10, TimeUnit.SECONDS);
            assertThat(slowResponse.statusCode()).isEqualTo(200);
            assertThat(slowResponse.body()).isEqualTo("slow work done");

            JsonNode report = TestAgent.parseJson(prestop.get(20, TimeUnit.SECONDS).body());
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertThat(report.get("trigger").asText()).isEqualTo("prestop");
            assertThat(report.get("steps")).extracting(s -> s.get("name").asText(), s -> s.get("outcome").asText()).containsExactly(
                    tuple("unready", "completed"), tuple("withdraw", "completed"),
                    tuple("propagate", "completed"), tuple("hooks", "completed"));
            assertThat(report.get("hooks")).extracting(h -> h.get("name").asText(), h -> h.get("kind").asText(), h -> h.get("outcome").asText())
                    .containsExactly(tuple("app-drain", "http", "completed"), tuple("connections", "wait-idle", "completed"));
            assertThat(report.get("hooks").get(1).get("durationSeconds").asDouble()).isGreaterThan(0.5);
            assertThat(agent.agent().lifecycle().state()).isEqualTo(State.DRAINED);
            assertThat(agent.get("/readyz").status()).isEqualTo(503);
            assertThat(agent.get("/metrics").raw().body()).doesNotContain("lameduck_drain_deadline_remaining_seconds ")
                    .contains("lameduck_app_connections{port=\"" + appPort + "\"} 0.0");
        }
    }
}
