package io.lameduck.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lameduck.testsupport.Command;
import io.lameduck.testsupport.Command.Result;
import io.lameduck.testsupport.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The alerts of helm/lameduck/files/alerts.yaml evaluated by Prometheus' own rule engine: {@code promtool test rules}
 * feeds the series of src/test/resources/alerts/*.test.yaml and asserts each alert firing (with its labels and summary)
 * and not firing. promtool compares annotations whole, so the rules are copied with their summary alone (the
 * description and runbook prose is AlertRulesTest's). Tagged like PromtoolCheckTest: it needs the promtool binary.
 */
@Tag("prometheus")
class AlertRulesPromtoolTest {
    private static final Path ALERTS = Path.of("helm/lameduck/files/alerts.yaml");
    private static final Path TESTS = Path.of("src/test/resources/alerts");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"injector-down", "injector-fail-open", "agent-rbac-refused", "withdrawal-unconfirmed"})
    void promtoolTestRulesPasses(String name) throws IOException {
        Result result = promtoolTest(name, rule -> rule);
        assertThat(result.exit()).as("promtool test rules %s.test.yaml:\n%s", name, result.output()).isZero();
        assertThat(result.output()).contains("SUCCESS");
    }

    /** Each file asserts its alert both ways: at least one evaluation expecting it and one expecting nothing. */
    @Test
    void everyTestedAlertIsAssertedFiringAndNotFiring() throws Exception {
        Map<String, String> tested = new TreeMap<>();
        try (var files = Files.list(TESTS)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".test.yaml")).sorted().toList()) {
                Map<String, int[]> byAlert = new TreeMap<>();
                for (JsonNode test : YAML.readTree(file.toFile()).get("tests")) {
                    for (JsonNode eval : test.get("alert_rule_test")) {
                        int[] counts = byAlert.computeIfAbsent(eval.get("alertname").asText(), a -> new int[2]);
                        counts[eval.path("exp_alerts").isEmpty() ? 1 : 0]++;
                    }
                }
                byAlert.forEach((alert, counts) -> {
                    assertThat(counts[0]).as("%s: evaluations where %s fires", file, alert).isPositive();
                    assertThat(counts[1]).as("%s: evaluations where %s stays silent", file, alert).isPositive();
                    tested.put(alert, file.getFileName().toString());
                });
            }
        }
        assertThat(tested).as("alerts the issue asks to be tested").containsKeys("LameduckInjectorDown", "LameduckInjectorFailOpen",
                "LameduckAgentRbacRefused", "LameduckWithdrawalUnconfirmed");
        assertThat(AlertRulesTest.rules().stream().map(rule -> rule.path("alert").asText()))
                .as("every tested alert is one of alerts.yaml").containsAll(tested.keySet());
    }

    /** The absent() half is what an injector with no pod at all needs: the expression without it fails the test. */
    @Test
    void theInjectorDownTestFailsWithoutTheAbsentHalf() throws IOException {
        Result result = promtoolTest("injector-down", rule -> {
            if ("LameduckInjectorDown".equals(rule.path("alert").asText())) {
                ((ObjectNode) rule).put("expr", "max by (namespace) (up{job=\"lameduck-injector\"}) == 0");
            }
            return rule;
        });
        assertThat(result.exit()).as("promtool output:\n%s", result.output()).isNotZero();
        assertThat(result.output()).contains("fires on absence").contains("got:[]").doesNotContain("never ran an injector");
    }

    /** Runs promtool test rules on the named test file next to alerts.yaml's rules, each edited by {@code edit}. */
    private Result promtoolTest(String name, UnaryOperator<JsonNode> edit) throws IOException {
        JsonNode rules = YAML.readTree(ALERTS.toFile());
        for (JsonNode group : rules.get("groups")) {
            for (JsonNode rule : group.get("rules")) {
                ObjectNode annotations = (ObjectNode) rule.get("annotations");
                annotations.retain("summary");
                edit.apply(rule);
            }
        }
        YAML.writeValue(dir.resolve("alerts.yaml").toFile(), rules);
        Path test = Files.copy(TESTS.resolve(name + ".test.yaml"), dir.resolve(name + ".test.yaml"));
        return Command.run(List.of(Tools.require("promtool").toString(), "test", "rules", test.toString()), dir, Duration.ofSeconds(60));
    }
}
