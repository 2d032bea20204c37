package io.lameduck.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * Lameduck really exports ({@link MetricNames#exported}: the agent's, the injector's and the fleet collector's) or one
 * of the few external ones it knows. AlertRulesTest checks the alerts' metrics against the same names.
 */
class DashboardTest {
    private static final Path DASHBOARD = Path.of("helm/lameduck/files/dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\blameduck_[a-z0-9_]+\\b");

    @Test
    void everyQueryNamesAMetricLameduckExports() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        Set<String> exported = MetricNames.exported();
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
        for (JsonNode expr : dashboard.findValues("expr")) {
            assertThat(MetricNames.in(expr.asText())).as("metrics of %s", expr.asText()).isNotEmpty()
                    .allSatisfy(name -> assertThat(name.startsWith("lameduck_") ? exported : MetricNames.EXTERNAL).contains(name));
        }
        assertThat(named).contains("lameduck_fleet_terminations_total", "lameduck_fleet_drain_duration_seconds_bucket",
                "lameduck_fleet_step_duration_seconds_bucket", "lameduck_fleet_withdrawals_unconfirmed_total",
                "lameduck_fleet_traffic_not_stopped_total", "lameduck_fleet_traffic_after_withdrawal_seconds_bucket",
                "lameduck_fleet_requests_after_withdrawal_total", "lameduck_collector_reports_total", "lameduck_collector_state_writes_total", "lameduck_collector_state_bytes",
                "lameduck_collector_workloads", "lameduck_collector_last_write_timestamp_seconds",
                "lameduck_state", "lameduck_maintenance", "lameduck_kube_requests_total", "lameduck_injector_injections_total");
        // Drains are the collector's: an agent's drain metrics die with its pod, so no panel asks for them.
        assertThat(named).noneMatch(name -> name.startsWith("lameduck_drain") || name.startsWith("lameduck_hook_"));
    }
}
