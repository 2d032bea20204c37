package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.WebhookClientConfigBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.ConfigLoader;
import io.lameduck.inject.AdmissionHandler;
import io.lameduck.inject.InjectionProbe;
import io.lameduck.inject.InjectionTemplate;
import io.lameduck.inject.InjectorMetrics;
import io.lameduck.inject.InjectorServer;
import io.lameduck.inject.KubeAgentRoleBinder;
import io.lameduck.inject.PodInjector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import io.lameduck.testsupport.Command;
import io.lameduck.testsupport.TestCertificates;
import org.junit.jupiter.api.io.TempDir;

/**
 * The injector as the real kube-apiserver calls it: the chart's MutatingWebhookConfiguration (selectors,
 * failurePolicy, timeout) with its clientConfig pointed at the injector running in this JVM over HTTPS with a
 * test CA, and the chart-rendered injection template. Pods that know nothing of Lameduck are created in
 * labelled namespaces and come back with what the chart's named templates render.
 */
@Tag("kube")
class InjectorOnApiServerTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    static Path dir;

    @RegisterExtension
    static final KubeFixture cluster = KubeFixture.namespacePerClass("plain"); // unlabelled; the tests make labelled ones

    private static KubernetesClient admin;
    private static InjectorServer server;
    private static PrometheusRegistry registry;
    private static String caPem;
    private static HttpClient https;
    private static final List<String> webhookConfigs = new ArrayList<>();

    @BeforeAll
    static void startInjectorAndRegisterTheChartsWebhook() throws Exception {
        admin = cluster.admin();
        caPem = TestCertificates.issue(dir, "lameduck-test-ca", "IP:127.0.0.1").caPem();
        Files.writeString(dir.resolve("template.yaml"), renderChart("templates/injector/configmap.yaml").get(0).at("/data/template.yaml").asText());
        InjectionTemplate template = InjectionTemplate.load(dir.resolve("template.yaml"));
        // The agent ClusterRole the chart installs: the injector's RoleBindings are owned by it.
        admin.rbac().clusterRoles().resource(new ClusterRoleBuilder().withNewMetadata().withName(template.agentClusterRole())
                .endMetadata().build()).createOr(existing -> existing.update());
        registry = new PrometheusRegistry();
        server = new InjectorServer(new InjectorServer.Settings("127.0.0.1", 0, 0, dir.resolve("tls.crt"), dir.resolve("tls.key")),
                new AdmissionHandler(new PodInjector(template, "test"), new KubeAgentRoleBinder(admin, template.agentClusterRole()),
                        new InjectorMetrics(registry)), registry);
        server.start();
        register("lameduck-injector-test", "https://127.0.0.1:" + server.port() + "/mutate", null);
        https = HttpClient.newBuilder().sslContext(TestCertificates.trusting(caPem)).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        for (String name : webhookConfigs) {
            admin.admissionRegistration().v1().mutatingWebhookConfigurations().withName(name).delete();
        }
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void ordinaryPodInALabelledNamespaceGetsTheSidecarPreStopGateLabelVolumesAndRbac() throws Exception {
        String ns = labelledNamespace("inject");
        Pod plain = plainPod("web", 45);
        plain.getSpec().getContainers().get(0).getPorts().add(new ContainerPortBuilder().withContainerPort(9000).build());
        plain.getSpec().getContainers().get(0).getPorts().add(new ContainerPortBuilder().withContainerPort(5353).withProtocol("UDP").build());
        Pod pod = create(ns, plain);

        Map<String, String> annotations = pod.getMetadata().getAnnotations();
        assertThat(names(pod.getSpec().getContainers())).containsExactly("app", "lameduck");
        Container app = pod.getSpec().getContainers().get(0);
        assertThat(app.getLifecycle().getPreStop().getHttpGet().getPath()).isEqualTo("/prestop");
        assertThat(app.getLifecycle().getPreStop().getHttpGet().getPort().getIntVal()).isEqualTo(7979);
        Container sidecar = pod.getSpec().getContainers().get(1);
        assertThat(sidecar.getArgs()).containsExactly("serve", "--config", "/etc/lameduck/lameduck.yaml");
        assertThat(sidecar.getRestartPolicy()).isNull();
        assertThat(pod.getSpec().getReadinessGates()).extracting(g -> g.getConditionType()).containsExactly("lameduck.io/serving");
        assertThat(pod.getMetadata().getLabels()).containsEntry("lameduck.io/sidecar", "true").containsEntry("app", "web");
        assertThat(pod.getSpec().getVolumes()).extracting(v -> v.getName()).containsExactly("lameduck-config", "lameduck-tmp");
        assertThat(pod.getSpec().getVolumes().get(0).getDownwardAPI().getItems().get(0).getFieldRef().getFieldPath())
                .isEqualTo("metadata.annotations['lameduck.io/config']");
        assertThat(annotations).containsKey("checksum/lameduck-config")
                .containsEntry("lameduck.io/injected", "version=test,strategy=readiness-gate,sidecar=classic");

        AgentConfig config = new ConfigLoader(Map.of()).parse(annotations.get("lameduck.io/config"));
        assertThat(config.drain().budget()).as("budget from terminationGracePeriodSeconds").isEqualTo(Duration.ofSeconds(45));
        assertThat(config.drain().withdraw().strategy().configName()).isEqualTo("readiness-gate");
        assertThat(config.drain().propagation().ports()).as("the TCP ports the app declares, not the chart's").containsExactly(8080, 9000);

        RoleBinding binding = admin.rbac().roleBindings().inNamespace(ns).withName(KubeAgentRoleBinder.NAME).get();
        assertThat(binding.getRoleRef().getName()).isEqualTo("lameduck-agent");
        assertThat(binding.getSubjects()).extracting(s -> s.getName()).containsExactly("default");
        assertThat(binding.getMetadata().getOwnerReferences()).as("owned by the ClusterRole, so uninstalling removes it")
                .singleElement().satisfies(owner -> {
                    assertThat(owner.getKind()).isEqualTo("ClusterRole");
                    assertThat(owner.getUid()).isEqualTo(admin.rbac().clusterRoles().withName("lameduck-agent").get().getMetadata().getUid());
                });
        assertThat(KubeTestSupport.scrape(registry))
                .containsPattern("lameduck_injector_injections_total\\{sidecar=\"classic\",strategy=\"readiness-gate\"} [1-9]");
    }

    @Test
    void theInjectionChecksProbeComesBackInjectedFromADryRunAndNothingIsStoredOrBound() throws Exception {
        String ns = labelledNamespace("probe");
        try (PodDryRun dryRun = new PodDryRun(admin)) {
            PodDryRun.Answer answer = dryRun.create(ns, InjectionProbe.pod("registry.example/app:1"), Duration.ofSeconds(10));

            assertThat(answer).isInstanceOf(PodDryRun.Answer.Admitted.class);
            Pod answered = ((PodDryRun.Answer.Admitted) answer).pod();
            assertThat(answered.getMetadata().getName()).startsWith(InjectionProbe.NAME_PREFIX);
            assertThat(InjectionProbe.judge(answered, "lameduck"))
                    .isEqualTo(new InjectionProbe.Verdict.Injected("version=test,strategy=readiness-gate,sidecar=classic", false));
        }
        assertThat(admin.pods().inNamespace(ns).list().getItems()).as("a dry run stores nothing").isEmpty();
        assertThat(admin.rbac().roleBindings().inNamespace(ns).withName(KubeAgentRoleBinder.NAME).get())
                .as("sideEffects NoneOnDryRun: no RoleBinding for a dry run").isNull();
    }

    @Test
    void anInjectedPodIsLeftAloneWhenCreatedAgain() {
        String ns = labelledNamespace("again");
        Pod first = create(ns, plainPod("first", 30));
        Pod copy = new PodBuilder().withNewMetadata().withName("second").withLabels(first.getMetadata().getLabels())
                .withAnnotations(first.getMetadata().getAnnotations()).endMetadata().withSpec(first.getSpec()).build();
        copy.getSpec().setNodeName(null);

        Pod second = create(ns, copy);

        assertThat(second.getSpec().getContainers()).isEqualTo(first.getSpec().getContainers());
        assertThat(second.getSpec().getVolumes()).isEqualTo(first.getSpec().getVolumes());
        assertThat(second.getSpec().getReadinessGates()).isEqualTo(first.getSpec().getReadinessGates());
        assertThat(second.getMetadata().getAnnotations()).as("an injected pod is not marked skipped").doesNotContainKey("lameduck.io/skipped");
        assertThat(KubeTestSupport.scrape(registry)).containsPattern("lameduck_injector_skipped_total\\{reason=\"already_injected\"} [1-9]");
    }

    @Test
    void podsOptedOutByLabelOrAnnotationAreNotInjected() {
        String ns = labelledNamespace("optout");
        Pod byLabel = plainPod("by-label", 30);
        byLabel.getMetadata().getLabels().put("lameduck.io/inject", "disabled");
        Pod byAnnotation = plainPod("by-annotation", 30);
        byAnnotation.getMetadata().setAnnotations(Map.of("lameduck.io/inject", "disabled"));

        assertThat(names(create(ns, byLabel).getSpec().getContainers())).containsExactly("app");
        Pod createdByAnnotation = create(ns, byAnnotation);
        assertThat(names(createdByAnnotation.getSpec().getContainers())).containsExactly("app");
        assertThat(createdByAnnotation.getMetadata().getAnnotations()).containsEntry("lameduck.io/skipped", "opted_out: lameduck.io/inject is disabled");
        assertThat(KubeTestSupport.scrape(registry)).containsPattern("lameduck_injector_skipped_total\\{reason=\"opted_out\"} [1-9]");
    }

    @Test
    void podsOutsideLabelledNamespacesAreInjectedOnlyWhenLabelledThemselves() {
        String ns = cluster.namespace();
        Pod optedIn = plainPod("opted-in", 30);
        optedIn.getMetadata().getLabels().put("lameduck.io/inject", "enabled");

        assertThat(names(create(ns, plainPod("ordinary", 30)).getSpec().getContainers())).containsExactly("app");
        assertThat(names(create(ns, optedIn).getSpec().getContainers())).containsExactly("app", "lameduck");
    }

    @Test
    void anAppContainersOwnPreStopIsKeptAndListed() {
        String ns = labelledNamespace("prestop");
        Pod pod = plainPod("own-prestop", 30);
        pod.getSpec().getContainers().get(0).setLifecycle(new io.fabric8.kubernetes.api.model.LifecycleBuilder()
                .withNewPreStop().withNewExec().withCommand("/bin/flush").endExec().endPreStop().build());

        Pod created = create(ns, pod);

        assertThat(created.getSpec().getContainers().get(0).getLifecycle().getPreStop().getExec().getCommand()).containsExactly("/bin/flush");
        assertThat(created.getSpec().getContainers().get(0).getLifecycle().getPreStop().getHttpGet()).isNull();
        assertThat(names(created.getSpec().getContainers())).containsExactly("app", "lameduck");
        assertThat(created.getMetadata().getAnnotations()).containsEntry("lameduck.io/prestop-kept", "app");
    }

    @Test
    void annotationsOverrideStrategySidecarModePortsAndBudget() throws Exception {
        String ns = labelledNamespace("overrides");
        Pod pod = plainPod("overridden", 30);
        pod.getMetadata().setAnnotations(Map.of("lameduck.io/strategy", "label", "lameduck.io/native", "true",
                "lameduck.io/ports", "9090,9091", "lameduck.io/budget", "20s"));

        Pod created = create(ns, pod);

        assertThat(names(created.getSpec().getContainers())).containsExactly("app");
        assertThat(names(created.getSpec().getInitContainers())).containsExactly("lameduck");
        assertThat(created.getSpec().getInitContainers().get(0).getRestartPolicy()).isEqualTo("Always");
        assertThat(created.getSpec().getReadinessGates()).isNullOrEmpty();
        assertThat(created.getMetadata().getLabels()).containsEntry("lameduck.io/serving", "true");
        AgentConfig config = new ConfigLoader(Map.of()).parse(created.getMetadata().getAnnotations().get("lameduck.io/config"));
        assertThat(config.drain().budget()).isEqualTo(Duration.ofSeconds(20));
        assertThat(config.drain().withdraw().strategy().configName()).isEqualTo("label");
        assertThat(YAML.readTree(created.getMetadata().getAnnotations().get("lameduck.io/config")).at("/drain/propagation/ports").toString())
                .isEqualTo("[9090,9091]");
    }

    @Test
    void anInvalidOverrideLeavesThePodUninjectedCountsItAndWarnsTheClient() throws Exception {
        String ns = labelledNamespace("invalid");
        Pod pod = plainPod("bad-budget", 30);
        pod.getMetadata().setAnnotations(Map.of("lameduck.io/budget", "soon"));

        Created response = createReadingWarnings(ns, pod);
        Pod created = response.pod();
        // What the API server hands back from the webhook's AdmissionReview, as kubectl prints it ("Warning: ...").
        assertThat(response.warnings()).as("the admission warnings, as the API server returned them")
                .singleElement().asString()
                .startsWith("299 - \"lameduck injector: pod not injected (invalid_override): lameduck.io/budget is \\\"soon\\\"");
        assertThat(names(created.getSpec().getContainers())).containsExactly("app");
        assertThat(created.getMetadata().getAnnotations().get("lameduck.io/skipped")).as("why, on the pod itself")
                .startsWith("invalid_override: lameduck.io/budget is \"soon\"");
        assertThat(KubeTestSupport.scrape(registry)).containsPattern("lameduck_injector_skipped_total\\{reason=\"invalid_override\"} [1-9]");
    }

    @Test
    void withTheInjectorDownPodsAreCreatedUninjectedAndTheApiServerCountsTheFailOpen() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        register("lameduck-injector-down", "https://127.0.0.1:" + closedPort + "/mutate", "lameduck-test/injector-down");
        String ns = cluster.newNamespace("down");
        admin.namespaces().withName(ns).edit(n -> new NamespaceBuilder(n).editMetadata()
                .addToLabels("lameduck-test/injector-down", "enabled").endMetadata().build());
        awaitWebhookActive(ns, "lameduck-test/injector-down");

        long started = System.nanoTime();
        Pod pod = create(ns, plainPod("while-down", 30));

        assertThat(names(pod.getSpec().getContainers())).containsExactly("app");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("a refused connection fails open at once").isLessThan(Duration.ofSeconds(3));
        String metrics = admin.raw("/metrics");
        assertThat(metrics).containsPattern("apiserver_admission_webhook_fail_open_count\\{[^}]*name=\"namespace.inject.lameduck.io\"[^}]*} [1-9]");
    }

    @Test
    void badAdmissionReviewBodiesGetClearErrorsNever500() throws Exception {
        assertThat(post("not json", "application/json")).startsWith("400 ").contains("body is not JSON");
        assertThat(post("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"1\"}}", "application/json"))
                .startsWith("400 ").contains("expected admission.k8s.io/v1/AdmissionReview");
        assertThat(post("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "application/json"))
                .startsWith("400 ").contains("no request object");
        assertThat(post("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}", "application/json"))
                .startsWith("400 ").contains("no uid");
        assertThat(post("[1,2]", "application/json")).startsWith("400 ").contains("not a JSON object");
        assertThat(post("{}", "text/plain")).startsWith("415 ").contains("expected application/json");
        // Declared too large: answered 413 from the headers alone. A raw socket sends only the headers, so the answer
        // cannot race a client still writing 5 MiB that the server will never read.
        assertThat(headersOnly("Content-Length: " + 5 * 1024 * 1024)).startsWith("HTTP/1.1 413 ");
        assertThat(post("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u1\","
                + "\"kind\":{\"kind\":\"Deployment\"},\"operation\":\"CREATE\",\"object\":{}}}", "application/json"))
                .startsWith("200 ").contains("\"uid\":\"u1\"").contains("\"allowed\":true").doesNotContain("\"patch\"").contains("pod CREATE only");
        assertThat(post("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u2\","
                + "\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"object\":{\"spec\":{\"containers\":\"not a list\"}}}}", "application/json"))
                .startsWith("200 ").contains("\"allowed\":true");
        HttpResponse<String> get = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port() + "/mutate")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(KubeTestSupport.scrape(registry)).containsPattern("lameduck_injector_failures_total\\{reason=\"bad_request\"} [1-9]");
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** The status line the injector answers to a POST /mutate of these headers and no body. */
    private static String headersOnly(String header) throws Exception {
        try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) TestCertificates.trusting(caPem).getSocketFactory()
                .createSocket("127.0.0.1", server.port())) {
            socket.setSoTimeout((int) Duration.ofSeconds(10).toMillis());
            socket.getOutputStream().write(("POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + header + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }

    private static String post(String body, String contentType) throws Exception {
        HttpResponse<String> response = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port() + "/mutate"))
                .header("Content-Type", contentType).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }

    /** The chart's webhook configuration, called at {@code url}; with {@code namespaceLabel}, only in namespaces carrying that label. */
    private static void register(String name, String url, String namespaceLabel) throws IOException {
        JsonNode rendered = renderChart("templates/injector/webhook.yaml").stream()
                .filter(d -> "MutatingWebhookConfiguration".equals(d.path("kind").asText())).findFirst().orElseThrow();
        MutatingWebhookConfiguration config = Serialization.unmarshal(rendered.toString(), MutatingWebhookConfiguration.class);
        config.getMetadata().setName(name);
        if (namespaceLabel != null) {
            config.setWebhooks(new ArrayList<>(config.getWebhooks().subList(0, 1)));
            config.getWebhooks().get(0).getNamespaceSelector().getMatchExpressions().get(0).setKey(namespaceLabel);
        }
        config.getWebhooks().forEach(w -> w.setClientConfig(new WebhookClientConfigBuilder().withUrl(url)
                .withCaBundle(Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.US_ASCII))).build()));
        admin.admissionRegistration().v1().mutatingWebhookConfigurations().resource(config).create();
        webhookConfigs.add(name);
    }

    private static String labelledNamespace(String prefix) {
        String ns = cluster.newNamespace(prefix);
        admin.namespaces().withName(ns).edit(n -> new NamespaceBuilder(n).editMetadata().addToLabels("lameduck.io/inject", "enabled").endMetadata().build());
        awaitWebhookActive(ns, "lameduck.io/inject");
        return ns;
    }

    /** The API server picks up webhook configurations and namespace labels asynchronously: dry-run until it calls. */
    private static void awaitWebhookActive(String ns, String label) {
        Awaitility.await("the webhook for " + label + " active in " + ns).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    if (label.startsWith("lameduck-test")) {
                        return admin.admissionRegistration().v1().mutatingWebhookConfigurations().withName("lameduck-injector-down").get() != null
                                && dryRunTookAWhileOrFailedOpen(ns);
                    }
                    Pod probe = admin.pods().inNamespace(ns).resource(plainPod("probe", 30)).dryRun().create();
                    return probe.getSpec().getContainers().size() == 2;
                });
    }

    /** For the down webhook there is nothing to see on the pod: wait for the API server's fail-open counter. */
    private static boolean dryRunTookAWhileOrFailedOpen(String ns) {
        admin.pods().inNamespace(ns).resource(plainPod("probe", 30)).dryRun().create();
        return admin.raw("/metrics").contains("name=\"namespace.inject.lameduck.io\"") && admin.raw("/metrics").contains("apiserver_admission_webhook_fail_open_count");
    }

    private static Pod create(String ns, Pod pod) {
        return admin.pods().inNamespace(ns).resource(pod).create();
    }

    /**
     * Creates {@code pod} with a plain POST to the API server, as the admin, so the response's {@code Warning} headers
     * can be read: the fabric8 client only logs them.
     */
    private static Created createReadingWarnings(String ns, Pod pod) throws Exception {
        String url = admin.getMasterUrl().toString().replaceAll("/$", "") + "/api/v1/namespaces/" + ns + "/pods";
        io.fabric8.kubernetes.client.http.HttpClient http = admin.getHttpClient();
        io.fabric8.kubernetes.client.http.HttpResponse<String> response = http.sendAsync(http.newHttpRequestBuilder().uri(url)
                .post("application/json", Serialization.asJson(pod)).build(), String.class).get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(response.code()).as(response.body()).isEqualTo(201);
        return new Created(Serialization.unmarshal(response.body(), Pod.class), response.headers("Warning"));
    }

    /** A pod as created, and the API server's {@code Warning} headers ({@code 299 - "text"}) for its creation. */
    private record Created(Pod pod, List<String> warnings) {}

    /** A pod that knows nothing of Lameduck. */
    private static Pod plainPod(String name, long grace) {
        return new PodBuilder().withNewMetadata().withName(name).addToLabels("app", name).endMetadata()
                .withNewSpec().withTerminationGracePeriodSeconds(grace)
                    .addNewContainer().withName("app").withImage("registry.example/app:1").addNewPort().withContainerPort(8080).endPort().endContainer()
                .endSpec().build();
    }

    private static List<String> names(List<Container> containers) {
        return containers == null ? List.of() : containers.stream().map(Container::getName).toList();
    }

    private static List<JsonNode> renderChart(String template) throws IOException {
        String helm = run(List.of(ROOT.resolve("scripts/install/helm.sh").toString())).strip().lines().reduce((a, b) -> b).orElseThrow().strip();
        String out = run(List.of(helm, "template", "lameduck", ROOT.resolve("helm/lameduck").toString(), "--namespace", "lameduck",
                "--set", "injector.enabled=true", "--show-only", template));
        List<JsonNode> docs = new ArrayList<>();
        for (JsonNode doc : YAML.readValues(YAML.createParser(out), JsonNode.class).readAll()) {
            if (doc != null && !doc.isNull()) {
                docs.add(doc);
            }
        }
        return docs;
    }

    private static String run(List<String> command) {
        Command.Result result = Command.run(command, ROOT, Duration.ofSeconds(120));
        if (result.exit() != 0) {
            throw new IllegalStateException(command + " failed (exit " + result.exit() + "):\n" + result.output());
        }
        return result.stdout();
    }
}
