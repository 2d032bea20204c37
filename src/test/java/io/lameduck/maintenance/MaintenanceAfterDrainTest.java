package io.lameduck.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.TestAgent;
import io.lameduck.TestAgent.Reply;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Maintenance on a real agent, through its HTTP endpoints, when a drain comes: the drain supersedes maintenance. The
 * pod stays withdrawn (a TTL expiring during or after the drain, or a DELETE /maintenance after it, never puts it back:
 * {@code /readyz} is never 200 again), and {@code GET /maintenance}, {@code /status} and the gauge say maintenance is
 * off, superseded by the drain, instead of showing it active with an expiry long past.
 */
class MaintenanceAfterDrainTest {
    private static final Duration TTL = Duration.ofSeconds(1);
    /** Longer than the TTL, so that the TTL expires in the middle of the drain. */
    private static final Duration PROPAGATION = Duration.ofSeconds(2);

    private record Probe(Instant at, int status, String state) {}

    @Test
    void aDrainSupersedesMaintenanceWhoseTtlExpiresMidDrainAndADeleteAfterwardsPutsNothingBack() throws Exception {
        try (TestAgent agent = TestAgent.start("drain: {budget: 10s, safetyMargin: 1s, propagationDelay: " + PROPAGATION.toMillis() + "ms}\n")) {
            List<Probe> probes = new CopyOnWriteArrayList<>();
            AtomicBoolean probing = new AtomicBoolean(true);
            Thread prober = new Thread(() -> {
                while (probing.get()) {
                    try {
                        HttpResponse<String> answer = agent.http().send(HttpRequest.newBuilder(agent.uri("/readyz"))
                                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                        probes.add(new Probe(Instant.now(), answer.statusCode(), TestAgent.parseJson(answer.body()).path("state").asText()));
                        TimeUnit.MILLISECONDS.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        probes.add(new Probe(Instant.now(), -1, e.toString()));
                    }
                }
            }, "readyz-prober");

            Reply on = agent.send("PUT", "/maintenance", "{\"reason\": \"db migration\", \"ttl\": \"" + TTL.toMillis() + "ms\"}");
            assertThat(on.status()).as(on.raw().body()).isEqualTo(200);
            Instant expiresAt = Instant.parse(on.json().get("expiresAt").asText());
            prober.start();
            CompletableFuture<Reply> prestop = CompletableFuture.supplyAsync(() -> agent.send("POST", "/prestop", null));
            Reply drained = prestop.get(20, TimeUnit.SECONDS);
            JsonNode report = drained.json();
            Instant drainStarted = Instant.parse(report.get("startedAt").asText());
            Instant drainFinished = Instant.parse(report.get("finishedAt").asText());
            assertThat(expiresAt).as("the TTL expires during the drain (the scenario under test)").isAfter(drainStarted).isBefore(drainFinished);

            Reply off = agent.send("DELETE", "/maintenance", null);
            Instant deleted = Instant.now();
            Reply maintenance = agent.get("/maintenance");
            JsonNode status = agent.get("/status").json();
            String metrics = agent.get("/metrics").raw().body();
            // The prober goes on until it has seen readiness after the DELETE a few times.
            await().atMost(Duration.ofSeconds(10)).until(() -> probes.stream().filter(p -> p.at().isAfter(deleted)).count() >= 3);
            probing.set(false);
            prober.join(10_000);

            assertThat(drained.status()).isEqualTo(200);
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertThat(probes).isNotEmpty().allSatisfy(probe -> assertThat(probe.status()).as(probe.toString()).isEqualTo(503));
            assertThat(probes).extracting(Probe::state).contains("DRAINING").last().isEqualTo("DRAINED");

            assertThat(off.status()).as("DELETE after the drain is a no-op: maintenance is already off; " + off.raw().body()).isEqualTo(200);
            assertSuperseded(off.json());
            assertSuperseded(maintenance.json());
            assertThat(status.get("state").asText()).isEqualTo("DRAINED");
            assertSuperseded(status.get("maintenance"));
            assertThat(status.get("drain").get("id").asText()).isEqualTo(report.get("id").asText());
            assertThat(metrics).contains("lameduck_maintenance 0.0");
            assertThat(agent.get("/readyz").json().get("reason").asText()).startsWith("state is DRAINED");
        }
    }

    private static void assertSuperseded(JsonNode maintenance) {
        assertThat(maintenance.get("active").asBoolean()).as(maintenance.toString()).isFalse();
        assertThat(maintenance.get("reason").asText()).isEqualTo("superseded by the drain (maintenance was: db migration)");
        assertThat(maintenance.has("expiresAt")).as(maintenance.toString()).isFalse();
        assertThat(maintenance.get("detail").asText()).contains("the drain owns the withdrawal");
    }
}
