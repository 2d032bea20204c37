package io.lameduck.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;
import static org.awaitility.Awaitility.await;

import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A real Prometheus 2.42 scrapes the exporter servlet on a real Jetty and reads back a finished drain. */
@Tag("prometheus")
class PrometheusScrapeTest {
    private final AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry(), "it", true);
    private final Server jetty = new Server(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));

    @AfterEach
    void stopJetty() throws Exception {
        jetty.stop();
    }

    @Test
    void prometheusScrapesTheCompletedDrainFromTheServlet() throws Exception {
        ServletContextHandler context = new ServletContextHandler();
        context.addServlet(new ServletHolder(metrics.servlet()), "/metrics");
        jetty.setHandler(context);
        jetty.start();
        String target = "127.0.0.1:" + ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();

        Lifecycle lifecycle = new Lifecycle();
        lifecycle.addListener(metrics.lifecycleListener());
        lifecycle.moveTo(State.READY, "started");
        lifecycle.moveTo(State.DRAINING, "drain-1 started");
        Drains.drive(metrics.drainListener(), Drains.completed());
        lifecycle.moveTo(State.DRAINED, "drain-1 completed");

        try (PrometheusServer prometheus = PrometheusServer.start(target)) {
            await("prometheus has scraped the drain").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> {
                        assertThat(prometheus.query("lameduck_drains_total{outcome=\"completed\"} == 1"))
                                .as("completed drains equal to 1; prometheus log:\n%s", prometheus.log())
                                .singleElement()
                                .satisfies(sample -> assertThat(sample.label("trigger")).isEqualTo("prestop"));
                        assertThat(prometheus.query("lameduck_hook_duration_seconds_count")).isNotEmpty();
                    });

            // The other counters of the pre-initialised set are scraped as 0, so increase() sees the 0 -> 1.
            assertThat(prometheus.query("lameduck_drains_total{outcome=\"completed\"}"))
                    .hasSize(io.lameduck.drain.Trigger.values().length)
                    .allSatisfy(sample -> assertThat(sample.labels()).containsEntry("job", "lameduck").containsEntry("instance", target));
            assertThat(prometheus.query("lameduck_hook_duration_seconds_count"))
                    .extracting(sample -> sample.label("hook"), PrometheusServer.Sample::value)
                    .containsExactlyInAnyOrder(tuple("app-drain", 1.0),
                            tuple("idle", 1.0));
            // Info and StateSet arrive through OpenMetrics, which Prometheus negotiates with the servlet.
            assertThat(prometheus.query("lameduck_info")).singleElement()
                    .satisfies(sample -> assertThat(sample.label("version")).isEqualTo("it"));
            assertThat(prometheus.query("lameduck_state == 1")).singleElement()
                    .satisfies(sample -> assertThat(sample.label("lameduck_state")).isEqualTo("drained"));
        }
    }
}
