package io.lameduck.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The alert rules (helm/lameduck/files/alerts.yaml), without Prometheus: the file parses, every alert has a summary,
 * a description and a runbook of symptom, likely cause and what to check, and every metric and scrape job its
 * expression names exists. HelmChartTest runs promtool on the file and checks the PrometheusRule carries it.
 */
class AlertRulesTest {
    private static final Path ALERTS = Path.of("helm/lameduck/files/alerts.yaml");
    /** The scrape jobs the chart's PodMonitors name (relabelings of the collector's and the injector's). */
    private static final Set<String> JOBS = Set.of("lameduck-collector", "lameduck-injector");
    private static final Pattern JOB = Pattern.compile("\\bjob\\s*=~?\\s*\"([^\"]*)\"");

    @Test
    void everyAlertHasASummaryADescriptionAndARunbookOfSymptomCauseAndCheck() throws Exception {
        List<JsonNode> rules = rules();
        assertThat(rules).hasSizeGreaterThanOrEqualTo(10);
        for (JsonNode rule : rules) {
            String alert = rule.path("alert").asText();
            assertThat(alert).as("a rule without an alert name: %s", rule).startsWith("Lameduck");
            assertThat(rule.path("expr").asText()).as("%s: expr", alert).isNotBlank();
            JsonNode annotations = rule.path("annotations");
            for (String key : List.of("summary", "description", "runbook")) {
                assertThat(annotations.path(key).asText()).as("%s: annotation %s", alert, key).isNotBlank();
            }
            assertThat(annotations.get("runbook").asText()).as("%s: the runbook's three parts, one a line, in order", alert)
                    .startsWith("Symptom: ").containsSubsequence("Symptom: ", "\nLikely cause: ", "\nCheck: ");
            assertThat(rule.at("/labels/severity").asText()).as("%s: severity", alert).isIn("info", "warning", "critical");
        }
    }

    @Test
    void theAlertsTheFleetAndItsComponentsNeedAreThere() throws Exception {
        List<String> names = rules().stream().map(rule -> rule.path("alert").asText()).toList();
        assertThat(names).doesNotHaveDuplicates().contains(
                "LameduckDrainDeadlineExceeded", "LameduckDrainFailed", "LameduckWithdrawalUnconfirmed", "LameduckTrafficNotStopped",
                "LameduckCollectorDown", "LameduckCollectorAbsent", "LameduckCollectorDuplicate", "LameduckCollectorStateWritesFailing",
                "LameduckInjectorDown", "LameduckInjectorFailOpen", "LameduckAgentRbacRefused", "LameduckHookTimeouts",
                "LameduckPrestopRefused");
        // The drain alerts are by workload, from the collector: an agent's own drain counters die with its pod.
        for (JsonNode rule : rules()) {
            if (List.of("LameduckDrainDeadlineExceeded", "LameduckDrainFailed", "LameduckWithdrawalUnconfirmed", "LameduckTrafficNotStopped")
                    .contains(rule.get("alert").asText())) {
                assertThat(rule.get("expr").asText()).contains("lameduck_fleet_").contains("by (namespace, workload_kind, workload)");
            }
        }
    }

    @Test
    void everyMetricAndJobAnExpressionNamesExists() throws Exception {
        Set<String> exported = MetricNames.exported();
        for (JsonNode rule : rules()) {
            String alert = rule.get("alert").asText();
            String expr = rule.get("expr").asText();
            List<String> metrics = MetricNames.in(expr);
            assertThat(metrics).as("%s: metrics in %s", alert, expr).isNotEmpty();
            for (String name : metrics) {
                assertThat(name.startsWith("lameduck_") ? exported : MetricNames.EXTERNAL).as("%s names %s", alert, name).contains(name);
            }
            Matcher job = JOB.matcher(expr);
            while (job.find()) {
                assertThat(JOBS).as("%s selects job %s", alert, job.group(1)).contains(job.group(1));
            }
        }
    }

    @Test
    void metricNamesFindsTheMetricsOfAnExpressionAndNothingElse() {
        assertThat(MetricNames.in("sum by (namespace, workload) (increase(lameduck_fleet_terminations_total{outcome=\"x\", a=~\"b{1}\"}[15m])) > 0"))
                .containsExactly("lameduck_fleet_terminations_total");
        assertThat(MetricNames.in("absent(up{job=\"a\"}) and on() (count(lameduck_info) > 0)")).containsExactly("up", "lameduck_info");
        assertThat(MetricNames.in("max by (ns) (lameduck_collector_state_bytes) > 800 * 1024 unless x offset 5m"))
                .containsExactly("lameduck_collector_state_bytes", "x");
    }

    /** Every rule of every group of alerts.yaml. */
    static List<JsonNode> rules() throws Exception {
        JsonNode file = new ObjectMapper(new YAMLFactory()).readTree(ALERTS.toFile());
        List<JsonNode> rules = new ArrayList<>();
        assertThat(file.path("groups")).as("groups of %s", ALERTS).isNotEmpty();
        file.get("groups").forEach(group -> group.get("rules").forEach(rules::add));
        return rules;
    }
}
