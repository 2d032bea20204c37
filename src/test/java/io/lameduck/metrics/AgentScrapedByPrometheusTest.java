package io.lameduck.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lameduck.TestAgent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A real Prometheus scrapes the real agent every second while it drains; the outcome reaches Prometheus. */
@Tag("prometheus")
class AgentScrapedByPrometheusTest {
    @Test
    void prometheusSeesTheCompletedDrainAndItsHookFromTheRunningAgent() throws Exception {
        try (TestAgent agent = TestAgent.start("""
                drain:
                  budget: 20s
                  safetyMargin: 1s
                  propagationDelay: 200ms
                  hooks:
                    - {name: settle, type: sleep, priority: 10, timeout: 2s, duration: 300ms}
                """);
                PrometheusServer prometheus = PrometheusServer.start("127.0.0.1:" + agent.port())) {
            await("prometheus has scraped the READY agent").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                    .until(() -> prometheus.query("lameduck_state{lameduck_state=\"ready\"} == 1").size() == 1);

            assertThat(agent.send("POST", "/prestop", null).json().get("outcome").asText()).isEqualTo("completed");

            await("prometheus has scraped the drain").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> {
                        assertThat(prometheus.query("lameduck_drains_total{outcome=\"completed\"} == 1"))
                                .as("prometheus log:\n%s", prometheus.log())
                                .singleElement().satisfies(sample -> assertThat(sample.label("trigger")).isEqualTo("prestop"));
                        assertThat(prometheus.query("lameduck_hook_duration_seconds_count{hook=\"settle\",kind=\"sleep\",outcome=\"completed\"} == 1"))
                                .hasSize(1);
                    });
            assertThat(prometheus.query("lameduck_state == 1")).singleElement()
                    .satisfies(sample -> assertThat(sample.label("lameduck_state")).isEqualTo("drained"));
            assertThat(prometheus.query("lameduck_http_requests_total{path=\"/prestop\",code=\"200\"} == 1")).hasSize(1);

            // The lameduck_* lines of one real scrape after the drain, kept for the record (docs/observability.md
            // describes them).
            String lines = agent.get("/metrics").raw().body().lines()
                    .filter(line -> line.startsWith("lameduck_") || line.startsWith("# TYPE lameduck_"))
                    .collect(Collectors.joining("\n"));
            Files.createDirectories(Path.of("target"));
            Files.writeString(Path.of("target/metrics-after-drain.txt"), lines + "\n");
            assertThat(lines).contains("lameduck_drain_step_duration_seconds_count{step=\"propagate\"} 1");
        }
    }
}
