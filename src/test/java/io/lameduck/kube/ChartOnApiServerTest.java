package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.FieldValidateable.Validation;
import io.lameduck.testsupport.Command;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's full render against the real kube-apiserver: every object `helm install` and `helm test` would create, with
 * the injector (chart-generated TLS, webhook, PDB), the collector, both NetworkPolicies, the example workload, the
 * dashboard and the chart's knobs set, is created as a server-side dry run with strict field validation, so the API
 * server's schemas, defaulting and admission accept each one (an unknown or misplaced field is an error, not a dropped
 * field) and nothing is stored: the webhook configuration in particular never reaches the other tests of this JVM.
 *
 * <p>Left out, because the test API server has no CRDs and they cannot be installed offline: the Prometheus Operator's
 * PodMonitors and PrometheusRule (monitoring.coreos.com) and cert-manager's Issuer and Certificate (the render uses the
 * chart-generated certificate instead). HelmChartTest lints and renders those.
 */
@Tag("kube")
class ChartOnApiServerTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final String RELEASE = "chart";

    /** The chart with every part on that the API server can take, and the knobs that shape what it sends. */
    private static final String VALUES = """
            image: {repository: registry.example/lameduck, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
            imagePullSecrets: [{name: regcred}]
            commonLabels: {team: platform}
            commonAnnotations: {example.com/owner: sre}
            sidecar:
              extraVolumeMounts: [{name: lameduck-tmp, mountPath: /var/tmp}]
            example: {enabled: true}
            dashboard: {enabled: true}
            injector:
              enabled: true
              replicas: 2
              podDisruptionBudget: {enabled: true, minAvailable: 1}
              nodeSelector: {kubernetes.io/os: linux}
              tolerations: [{key: dedicated, operator: Exists}]
              topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway}]
              priorityClassName: system-cluster-critical
              podLabels: {tier: infra}
              podAnnotations: {example.com/scrape: "false"}
              podSecurityContext: {fsGroup: 10001}
              networkPolicy: {enabled: true, metricsFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]}
            collector:
              enabled: true
              nodeSelector: {kubernetes.io/os: linux}
              affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 1, preference: {matchExpressions: [{key: dedicated, operator: In, values: [infra]}]}}]}}
              topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway}]
              priorityClassName: system-cluster-critical
              podSecurityContext: {fsGroup: 10001}
              networkPolicy: {enabled: true, from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]}
            """;

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("chart");

    @TempDir
    Path dir;

    @Test
    void everyObjectOfTheFullRenderIsAcceptedByTheApiServer() throws Exception {
        KubernetesClient admin = cluster.admin();
        String namespace = cluster.namespace();
        List<HasMetadata> objects = admin.load(new ByteArrayInputStream(render(namespace).getBytes(StandardCharsets.UTF_8))).items();
        Map<String, Long> kinds = new TreeMap<>();
        objects.forEach(o -> kinds.merge(o.getKind(), 1L, Long::sum));
        assertThat(kinds).as("the render holds every kind the chart makes without CRDs").containsKeys("ServiceAccount", "ConfigMap",
                "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret", "Service", "Deployment", "PodDisruptionBudget",
                "NetworkPolicy", "MutatingWebhookConfiguration", "Namespace", "Pod");
        assertThat(kinds).as("nothing of a CRD").doesNotContainKeys("PodMonitor", "PrometheusRule", "Issuer", "Certificate");

        // The injector's helm test puts its Role and RoleBinding in a namespace it creates first (hook weight -2): a dry run
        // of objects in a namespace that does not exist is refused, so that one Namespace is created for real (after its
        // own dry run) and deleted at the end.
        List<String> refused = new ArrayList<>();
        List<HasMetadata> namespaces = objects.stream().filter(o -> "Namespace".equals(o.getKind())).toList();
        try {
            for (HasMetadata ns : namespaces) {
                dryRun(admin, ns, refused);
                admin.namespaces().resource(new NamespaceBuilder().withMetadata(ns.getMetadata()).build()).create();
            }
            for (HasMetadata object : objects) {
                if (!"Namespace".equals(object.getKind())) {
                    dryRun(admin, object, refused);
                }
            }
        } finally {
            namespaces.forEach(ns -> admin.namespaces().withName(ns.getMetadata().getName()).delete());
        }
        assertThat(refused).as("objects the API server refused (of %s: %s)", objects.size(), kinds).isEmpty();
        assertThat(admin.admissionRegistration().v1().mutatingWebhookConfigurations().withName(RELEASE + "-lameduck-injector").get())
                .as("a dry run stores nothing").isNull();
        assertThat(admin.apps().deployments().inNamespace(namespace).list().getItems()).isEmpty();
    }

    /** A server-side dry-run create with strict field validation; a refusal is added to {@code refused} with the reason. */
    private static void dryRun(KubernetesClient admin, HasMetadata object, List<String> refused) {
        String name = object.getKind() + " " + object.getMetadata().getName();
        try {
            HasMetadata created = admin.resource(object).dryRun().fieldValidation(Validation.STRICT).create();
            assertThat(created.getMetadata().getUid()).as("%s as the API server would create it", name).isNotBlank();
        } catch (KubernetesClientException e) {
            refused.add(name + ": " + e.getCode() + " " + e.getMessage());
        }
    }

    /** `helm template` of the chart into {@code namespace}, hooks included, the CRD kinds left out. */
    private String render(String namespace) throws Exception {
        Path values = Files.writeString(dir.resolve("values.yaml"), VALUES);
        String helm = Command.run(List.of(ROOT.resolve("scripts/install/helm.sh").toString()), ROOT, Duration.ofMinutes(5)).stdout().strip()
                .lines().reduce((a, b) -> b).orElseThrow().strip();
        Command.Result result = Command.run(List.of(helm, "template", RELEASE, ROOT.resolve("helm/lameduck").toString(),
                "--namespace", namespace, "-f", values.toString()), ROOT, Duration.ofSeconds(60));
        assertThat(result.exit()).as("helm template:\n%s", result.output()).isZero();
        return result.stdout();
    }
}
