package io.lameduck.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.testsupport.Tools;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The exposition after a whole drain, JVM metrics included, passes Prometheus's own linter. */
@Tag("prometheus")
class PromtoolCheckTest {
    @Test
    void expositionAfterADrainPassesPromtoolCheckMetrics() throws Exception {
        Path promtool = Tools.require("promtool");
        AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry(), "0.1.0", true);
        Lifecycle lifecycle = new Lifecycle();
        lifecycle.addListener(metrics.lifecycleListener());
        metrics.setDeadlineRemaining(() -> Optional.of(Duration.ofSeconds(20)));
        metrics.sampleConnections(Map.of(8080, () -> 2));
        lifecycle.moveTo(State.READY, "started");
        metrics.maintenanceListener().maintenanceChanged(new MaintenanceStatus(true, "test", Instant.EPOCH, null, null));
        metrics.recordHttpRequest("/readyz", 200, Duration.ofMillis(1));
        metrics.recordHttpRequest("/nope", 404, Duration.ofMillis(1));
        lifecycle.moveTo(State.DRAINING, "drain started");
        Drains.drive(metrics.drainListener(), Drains.completed());
        String exposition = metrics.scrapeText(); // taken while DRAINING, so every metric family is present
        assertThat(exposition).contains("lameduck_drain_deadline_remaining_seconds 20.0", "lameduck_app_connections{port=\"8080\"} 2.0");

        Process process = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream stdin = process.getOutputStream()) {
            stdin.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        String output = readAll(process);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("promtool finished").isTrue();
        assertThat(output).as("promtool check metrics output").isBlank();
        assertThat(process.exitValue()).as("promtool exit code; output: %s", output).isZero();
    }

    private static String readAll(Process process) throws IOException {
        return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
