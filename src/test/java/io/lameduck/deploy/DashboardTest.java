package io.lameduck.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lameduck.inject.InjectorMetrics;
import io.lameduck.metrics.AgentMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.lang.reflect.Constructor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard (helm/lameduck/files/dashboard.json): it parses, and every metric its queries name is one
 * Lameduck really exports: the names come from the agent's own metrics (AgentMetrics and the Kubernetes metrics,
 * as the agent registers them) and the injector's, built into one registry and scraped.
 */
class DashboardTest {
    private static final Path DASHBOARD = Path.of("helm/lameduck/files/dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\blameduck_[a-z0-9_]+\\b");

    @Test
    void everyQueryNamesAMetricLameduckExports() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        Set<String> exported = exportedNames();
        List<String> queries = new ArrayList<>();
        dashboard.findValues("expr").forEach(e -> queries.add(e.asText()));
        dashboard.findValues("query").forEach(e -> queries.add(e.asText()));

        assertThat(dashboard.path("panels")).hasSizeGreaterThanOrEqualTo(8);
        assertThat(queries).hasSizeGreaterThanOrEqualTo(10);
        Set<String> named = new TreeSet<>();
        for (String query : queries) {
            Matcher m = METRIC.matcher(query);
            while (m.find()) {
                named.add(m.group());
            }
        }
        assertThat(named).as("metrics the dashboard queries; exported: %s", exported).isNotEmpty().isSubsetOf(exported);
        assertThat(named).contains("lameduck_drains_total", "lameduck_drain_duration_seconds_bucket",
                "lameduck_drain_step_duration_seconds_bucket", "lameduck_hook_runs_total", "lameduck_withdrawal_duration_seconds_bucket",
                "lameduck_maintenance", "lameduck_kube_requests_total");
    }

    /** The sample names a scrape can contain, from the metric snapshots of a registry holding every Lameduck metric. */
    private static Set<String> exportedNames() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        new AgentMetrics(registry, "test", false);
        // KubeMetrics is package-private in io.lameduck.kube (the agent builds it there); build it as the agent does.
        Constructor<?> kube = Class.forName("io.lameduck.kube.KubeMetrics").getDeclaredConstructor(PrometheusRegistry.class);
        kube.setAccessible(true);
        kube.newInstance(registry);
        new InjectorMetrics(registry);
        Set<String> names = new TreeSet<>();
        for (MetricSnapshot snapshot : registry.scrape()) {
            String name = snapshot.getMetadata().getPrometheusName();
            if (snapshot instanceof CounterSnapshot) {
                names.add(name + "_total");
            } else if (snapshot instanceof HistogramSnapshot) {
                names.addAll(List.of(name + "_bucket", name + "_sum", name + "_count"));
            } else if (snapshot instanceof InfoSnapshot) {
                names.add(name + "_info");
            } else {
                names.add(name);
            }
        }
        return names;
    }
}
