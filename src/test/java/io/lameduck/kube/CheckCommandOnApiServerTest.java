package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.lameduck.AgentProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lameduck check injection} and {@code lameduck check rbac}, the packaged CLI as a real process, against the real
 * kube-apiserver as the ServiceAccounts the chart's {@code helm test} pods run as: what each says when the cluster is
 * not right, and that it says it without waiting for its timeout when waiting cannot help. The injected case, with the
 * chart's webhook calling the injector: InjectorOnApiServerTest.
 */
@Tag("kube")
@Tag("process")
class CheckCommandOnApiServerTest {
    /** The chart's test Role: create on pods, in the test's own namespace. */
    private static final UnaryOperator<List<PolicyRule>> CREATE_PODS = rules -> List.of(new PolicyRuleBuilder()
            .withApiGroups("").withResources("pods").withVerbs("create").build());

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("check");

    @TempDir
    Path dir;

    @Test
    void aDryRunPodThatNoWebhookInjectsFailsTheCheckWithWhatToCheckAndNothingIsStored() throws Exception {
        String ns = cluster.namespace();
        cluster.admin().namespaces().withName(ns).edit(n -> new NamespaceBuilder(n).editMetadata()
                .addToLabels("lameduck.io/inject", "enabled").endMetadata().build());
        String token = cluster.agentToken("tester", CREATE_PODS);

        long started = System.nanoTime();
        Run run = run(token, Map.of(), "check", "injection", "--namespace", ns, "--timeout", "4");
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        assertThat(run.exit()).as(run.toString()).isEqualTo(6);
        assertThat(run.stderr()).startsWith("lameduck: a pod dry-run created in namespace " + ns + " is not injected: the pod came "
                + "back as it was sent: no lameduck container and no lameduck.io/injected annotation, so no injector changed it (")
                .containsPattern("\\(\\d attempts? in 4 s\\)\nWhat to check:\n  - the injector's pods are Ready")
                .contains("  - namespace " + ns + " is labelled lameduck.io/inject=enabled")
                .contains("apiserver_admission_webhook_fail_open_count")
                .doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(run.stdout()).as("nothing on stdout but a success").isEmpty();
        assertThat(took).as("asked again until its --timeout, no longer").isLessThan(Duration.ofSeconds(25));
        assertThat(cluster.admin().pods().inNamespace(ns).list().getItems()).as("a dry run stores nothing").isEmpty();
    }

    @Test
    void withoutCreateOnPodsTheCheckSaysItIsRbacAtOnce() throws Exception {
        String ns = cluster.namespace();
        String token = cluster.agentToken("tester", null);

        long started = System.nanoTime();
        Run run = run(token, Map.of(), "check", "injection", "--namespace", ns, "--timeout", "60");
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        assertThat(run.exit()).as(run.toString()).isEqualTo(6);
        assertThat(run.stderr()).startsWith("lameduck: the API server refused to dry-run create a pod in namespace " + ns + " (HTTP 403): ")
                .contains("system:serviceaccount:" + ns + ":tester").contains("cannot create resource \"pods\"")
                .contains("What to check:\n  - RBAC: the account this runs as needs create on pods in namespace " + ns)
                .doesNotContain("role-rules.yaml").doesNotContain("\tat ");
        assertThat(took).as("a 403 is not asked again: waiting would not change it").isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void theAgentsRbacCheckPassesWithTheChartsRoleAndListsWhatIsMissingAndWhatItDegrades() throws Exception {
        String ns = cluster.namespace();
        Path config = Files.writeString(dir.resolve("lameduck.yaml"), "drain: {withdraw: {strategy: readiness-gate}}\nkube: {events: true}\n");
        Map<String, String> pod = Map.of("POD_NAME", "web-0", "POD_NAMESPACE", ns);

        Run granted = run(cluster.agentToken("agent", rules -> rules), pod, "check", "rbac", "--config", config.toString());
        assertThat(granted.exit()).as(granted.toString()).isZero();
        assertThat(granted.stdout()).isEqualTo("RBAC works: the service account of pod " + ns + "/web-0 may do everything the agent "
                + "needs in namespace " + ns + " with withdraw strategy readiness-gate");

        String weak = cluster.agentToken("weak", rules -> rules.stream().filter(r -> !r.getResources().contains("pods/status")
                && !r.getResources().contains("events")).toList());
        Run missing = run(weak, pod, "check", "rbac", "--config", config.toString());
        assertThat(missing.exit()).as(missing.toString()).isEqualTo(6);
        assertThat(missing.stderr()).isEqualTo("lameduck: the service account of pod " + ns + "/web-0 lacks 3 of the permissions the "
                + "agent needs in namespace " + ns + " with withdraw strategy readiness-gate: patch pods/status, create events, list events\n"
                + "What to check:\n"
                + "  - degraded without them: readiness-gate withdrawal (falls back to probe)\n"
                + "  - degraded without them: Kubernetes Events on the pod (not written)\n"
                + "  - degraded without them: telling a kubelet eviction from a container restart (its Evicted Event): an evicted pod is "
                + "then drained with the pod's whole grace period as its deadline and its report may never be written\n"
                + "  - grant them with the chart's Role (rbac.create: true; the rules are helm/lameduck/files/role-rules.yaml), bound to "
                + "the pod's ServiceAccount (serviceAccount.name)");
        assertThat(missing.stdout()).isEmpty();

        Run label = run(weak, pod, "check", "rbac", "--config", Files.writeString(dir.resolve("label.yaml"),
                "drain: {withdraw: {strategy: label}}\nkube: {events: false}\n").toString());
        assertThat(label.stderr()).as("what is needed follows the configuration").contains("lacks 1 of").contains(": list events\n");
    }

    @Test
    void aCheckWithoutAReachableApiSaysSoAfterItsTimeout() throws Exception {
        Path kubeconfig = KubeTestSupport.tokenKubeconfig(dir.resolve("nowhere"), "http://127.0.0.1:9", "t");
        Run run = run(kubeconfig, Map.of("POD_NAME", "web-0", "POD_NAMESPACE", "shop"), "check", "rbac", "--timeout", "2");
        assertThat(run.exit()).as(run.toString()).isEqualTo(6);
        assertThat(run.stderr()).startsWith("lameduck: cannot check the permissions of pod shop/web-0's service account: ")
                .contains("API unreachable").containsPattern("attempts? in 2 s\\)").contains("that this pod reaches the API server");

        Run injection = run(kubeconfig, Map.of(), "check", "injection", "--namespace", "shop", "--timeout", "2");
        assertThat(injection.exit()).as(injection.toString()).isEqualTo(6);
        assertThat(injection.stderr()).startsWith("lameduck: a pod dry-run in namespace shop got no answer from the API: create pods: "
                + "API unreachable").containsPattern("attempts? in 2 s\\)\nWhat to check:\n  - that this pod reaches the API server")
                .doesNotContain("injector");
    }

    private record Run(int exit, String stdout, String stderr) {}

    private Run run(String token, Map<String, String> env, String... args) throws Exception {
        return run(cluster.kubeconfig(Files.createTempFile(dir, "kubeconfig", ".yaml"), token), env, args);
    }

    private static Run run(Path kubeconfig, Map<String, String> env, String... args) throws Exception {
        Map<String, String> all = new HashMap<>(env);
        all.put("KUBECONFIG", kubeconfig.toString());
        try (AgentProcess process = AgentProcess.start(all, args)) {
            int exit = process.awaitExit(Duration.ofSeconds(90));
            return new Run(exit, String.join("\n", process.stdout()), process.stderrText());
        }
    }
}
