package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.TestAgent;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConcurrentPrestopTest {
    @Test
    void thousandConcurrentPrestopCallsShareOneDrainWhileProbesKeepAnswering() throws Exception {
        try (TestAgent agent = TestAgent.start("drain: {budget: 30s, safetyMargin: 1s, propagationDelay: 5s}\n")) {
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < 1_000; i++) {
                HttpRequest request = HttpRequest.newBuilder(agent.uri("/prestop"))
                        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.noBody()).build();
                calls.add(agent.http().sendAsync(request, HttpResponse.BodyHandlers.ofString()));
            }
            // The waiting callers hold no server thread (async): the kubelet's probes are still answered meanwhile, that is
            // before the drain (5 s of propagation) lets any of the thousand calls return. No wall-clock bound: a loaded
            // CI machine may be slow, but a probe queued behind the callers would only answer after they all returned.
            assertThat(agent.get("/livez").status()).isEqualTo(200);
            assertThat(calls).noneMatch(CompletableFuture::isDone);
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get();

            assertThat(calls).allSatisfy(call -> assertThat(call.get().statusCode()).isEqualTo(200));
            Set<String> ids = calls.stream()
                    .map(call -> parse(call).get("id").asText())
                    .collect(Collectors.toSet());
            assertThat(ids).hasSize(1);
            assertThat(agent.get("/status").json().get("drain").get("id").asText()).isEqualTo(ids.iterator().next());
            assertThat(agent.get("/metrics").raw().body())
                    .contains("lameduck_drains_total{outcome=\"completed\",trigger=\"prestop\"} 1.0");
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode parse(CompletableFuture<HttpResponse<String>> call) {
        try {
            return Json.MAPPER.readTree(call.get().body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
