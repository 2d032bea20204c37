package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static io.lameduck.kube.KubeTestSupport.labels;
import static io.lameduck.testsupport.Slack.TOLERANCE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lameduck.Agent;
import io.lameduck.config.AgentConfig;
import io.lameduck.http.Json;
import io.lameduck.kube.FaultInjectingApiProxy.Fault;
import io.lameduck.lifecycle.State;
import io.lameduck.lifecycle.Transition;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fault matrix against the real kube-apiserver: the whole agent (listener, lifecycle, drain) talks to the API
 * through {@link FaultInjectingApiProxy}, or as a ServiceAccount whose Role lacks a verb (a real 403). Every
 * scenario drains through {@code POST /prestop} and asserts the drain's outcome, that it ended within its deadline
 * (+ {@link #TOLERANCE}), the state history, and that {@code /readyz} answered 503 after the drain began.
 */
@Tag("kube")
class KubeFaultMatrixTest {
    private static final String DRAIN = "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 100ms, "
            + "withdraw: {strategy: %s, timeout: 3s}}\n";

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("fault-matrix");

    private final HttpClient http = HttpClient.newHttpClient();
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    /** A serving pod behind a Service that requires the serving label, and its endpoint ready; its name. */
    private String servingPod(String name) {
        cluster.servingPod(name, labels(name, true), 30);
        return name;
    }

    private FaultInjectingApiProxy proxy() throws Exception {
        FaultInjectingApiProxy proxy = new FaultInjectingApiProxy(cluster.adminConfig());
        cleanup.add(proxy);
        return proxy;
    }

    private KubernetesClient client(String url, String token) {
        Config config = url.startsWith("https:") ? cluster.clientConfig(url, token)
                : new ConfigBuilder(Config.empty()).withMasterUrl(url).withOauthToken(token).build();
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
        cleanup.add(client);
        return client;
    }

    private Agent agent(String pod, String strategy, KubernetesClient client) throws Exception {
        AgentConfig config = config("server: {host: 127.0.0.1, port: 0}\n" + DRAIN.formatted(strategy));
        PrometheusRegistry registry = new PrometheusRegistry();
        KubeIntegration kube = KubeIntegration.using(config, client, cluster.identity(pod), registry);
        Agent agent = Agent.create(config, registry, Optional.of(kube));
        cleanup.add(agent::stop);
        agent.start();
        return agent;
    }

    private String token(String pod, UnaryOperator<List<PolicyRule>> rules) {
        return cluster.agentToken("sa-" + pod, rules);
    }

    /**
     * Drains for good through POST /prestop?final=true (the pod is not being deleted: a plain /prestop would be a container
     * restart) and checks the invariants every scenario shares; returns the report.
     */
    private JsonNode drain(Agent agent, String expectedOutcome) throws Exception {
        JsonNode report = call(agent, "POST", "/prestop?final=true").get("body");
        assertThat(report.get("outcome").asText()).as(report.toString()).isEqualTo(expectedOutcome);
        assertWithinDeadline(report);
        assertThat(agent.lifecycle().snapshot().history()).extracting(Transition::to)
                .containsExactly(State.STARTING, State.READY, State.DRAINING, State.DRAINED);
        assertThat(call(agent, "GET", "/readyz").get("status").asInt()).isEqualTo(503);
        return report;
    }

    static void assertWithinDeadline(JsonNode report) {
        Duration allowed = Duration.between(Instant.parse(report.get("startedAt").asText()), Instant.parse(report.get("deadline").asText()));
        Duration took = Duration.ofNanos((long) (report.get("durationSeconds").asDouble() * 1e9));
        assertThat(took).as("drain time vs its deadline").isLessThanOrEqualTo(allowed.plus(TOLERANCE));
    }

    private static JsonNode step(JsonNode report, String name) {
        for (JsonNode step : report.get("steps")) {
            if (step.get("name").asText().equals(name)) {
                return step;
            }
        }
        throw new AssertionError("no step " + name + " in " + report);
    }

    private JsonNode call(Agent agent, String method, String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + path))
                .timeout(Duration.ofSeconds(30)).method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("no 5xx but deliberate 503s: " + path).isIn(200, 503);
        return Json.MAPPER.createObjectNode().put("status", response.statusCode()).set("body", Json.MAPPER.readTree(response.body()));
    }

    @Test
    void apiUnreachableAtStartUpTheAgentComesUpAndDrainsOnProbeAlone() throws Exception {
        String pod = servingPod("down-at-start");
        FaultInjectingApiProxy proxy = proxy();
        proxy.stop(); // connection refused from the first call
        Agent agent = agent(pod, "label", client(proxy.url(), token(pod, rules -> rules)));

        JsonNode report = drain(agent, "completed");
        assertThat(step(report, "withdraw").get("outcome").asText()).isEqualTo("failed");
        assertThat(step(report, "withdraw").get("detail").asText()).contains("fell back to probe");
        assertThat(step(report, "propagate").get("outcome").asText()).isEqualTo("completed");
    }

    @Test
    void anApiThatAnswersOnlyAfterAFewTriesAtStartUpIsRetriedNotGivenUpOn() throws Exception {
        String pod = servingPod("late-api");
        FaultInjectingApiProxy proxy = proxy();
        AtomicInteger unavailable = new AtomicInteger();
        proxy.rule((method, path, query) -> isGetOf(pod, method, path) && unavailable.getAndIncrement() < 3
                ? new Fault.Status(503, "ServiceUnavailable") : Fault.FORWARD);

        Optional<KubeIntegration> kube = connect(pod, proxy);

        assertThat(kube).as("kube.mode enabled: connected once the API answered").isPresent();
        cleanup.add(kube.get());
        assertThat(proxy.seen()).filteredOn(seen -> isGetOf(pod, seen.method(), seen.path())).hasSizeGreaterThanOrEqualTo(4);
        assertThat(kube.get().startupState().deleting()).isFalse();
    }

    @Test
    void markingThePodServingAtStartUpIsRetriedUntilTheApiTakesIt() throws Exception {
        // Seen in the benchmark: the start-up patch timed out on a node short of CPU, and the pod never became Ready.
        String pod = servingPod("late-mark");
        cluster.admin().pods().inNamespace(cluster.namespace()).withName(pod)
                .edit(p -> new io.fabric8.kubernetes.api.model.PodBuilder(p).editMetadata()
                        .addToLabels("lameduck.io/serving", "false").endMetadata().build());
        FaultInjectingApiProxy proxy = proxy();
        long refuseUntil = System.nanoTime() + Duration.ofSeconds(5).toNanos(); // longer than one mark's 3 s timeout
        proxy.rule((method, path, query) -> "PATCH".equals(method) && path.endsWith("/pods/" + pod) && System.nanoTime() < refuseUntil
                ? new Fault.Status(503, "ServiceUnavailable") : Fault.FORWARD);

        Agent agent = agent(pod, "label", client(proxy.url(), token(pod, rules -> rules)));

        assertThat(agent.lifecycle().state()).isEqualTo(State.READY);
        await().atMost(Duration.ofSeconds(30)).until(() -> "true".equals(cluster.servingLabel(pod)));
        assertThat(proxy.seen()).filteredOn(seen -> "PATCH".equals(seen.method()) && seen.fault() instanceof Fault.Status)
                .as("the first marks were refused").isNotEmpty();
        drain(agent, "completed");
        assertThat(cluster.servingLabel(pod)).as("no late retry put the drained pod back").isEqualTo("false");
    }

    @Test
    void aDefiniteAnswerAtStartUpIsNotRetried() throws Exception {
        String pod = servingPod("gone-api");
        FaultInjectingApiProxy proxy = proxy();
        proxy.rule((method, path, query) -> isGetOf(pod, method, path) ? new Fault.Status(404, "NotFound") : Fault.FORWARD);

        assertThatThrownBy(() -> connect(pod, proxy)).isInstanceOf(KubeUnavailableException.class)
                .hasMessageContaining("not found").hasMessageNotContaining("attempts");
        assertThat(proxy.seen()).filteredOn(seen -> isGetOf(pod, seen.method(), seen.path())).hasSize(1);
    }

    private boolean isGetOf(String pod, String method, String path) {
        return "GET".equals(method) && path.endsWith("/namespaces/" + cluster.namespace() + "/pods/" + pod);
    }

    /** KubeIntegration.connect as the agent's start-up does it (kube.mode enabled), through the proxy. */
    private Optional<KubeIntegration> connect(String pod, FaultInjectingApiProxy proxy) throws Exception {
        Path kubeconfig = KubeTestSupport.tokenKubeconfig(Files.createTempFile("fault-matrix", ".kubeconfig"), proxy.url(),
                token(pod, rules -> rules));
        cleanup.add(() -> Files.deleteIfExists(kubeconfig));
        return KubeIntegration.connect(config("kube: {mode: enabled}\n"), Map.of("KUBECONFIG", kubeconfig.toString(),
                "POD_NAME", pod, "POD_NAMESPACE", cluster.namespace()), new PrometheusRegistry(), kubeconfig.resolveSibling("no-namespace-file"));
    }

    @Test
    void apiUnreachableDuringTheDrainTheWithdrawStepDegradesWithinItsTimeout() throws Exception {
        String pod = servingPod("down-in-drain");
        FaultInjectingApiProxy proxy = proxy();
        Agent agent = agent(pod, "label", client(proxy.url(), token(pod, rules -> rules)));
        proxy.stop();

        JsonNode report = drain(agent, "completed");
        assertThat(step(report, "withdraw").get("outcome").asText()).isEqualTo("failed");
        assertThat(step(report, "withdraw").get("durationSeconds").asDouble()).isLessThan(3.0 + TOLERANCE.toMillis() / 1000.0);
        assertThat(cluster.servingLabel(pod)).isEqualTo("true"); // nothing reached the API
    }

    @Test
    void anApiSlowerThanTheWithdrawTimeoutIsCutAtTheTimeout() throws Exception {
        String pod = servingPod("slow");
        FaultInjectingApiProxy proxy = proxy();
        Agent agent = agent(pod, "label", client(proxy.url(), token(pod, rules -> rules)));
        proxy.rule((method, path, query) -> new Fault.Delay(Duration.ofSeconds(8)));

        JsonNode report = drain(agent, "completed");
        assertThat(step(report, "withdraw").get("outcome").asText()).isEqualTo("failed");
        assertThat(step(report, "withdraw").get("detail").asText()).contains("did not answer within");
        assertThat(step(report, "withdraw").get("durationSeconds").asDouble()).isLessThan(3.0 + TOLERANCE.toMillis() / 1000.0);
    }

    @Test
    void aSlowButAnsweringApiStillConfirmsTheWithdrawal() throws Exception {
        String pod = servingPod("sluggish");
        FaultInjectingApiProxy proxy = proxy();
        Agent agent = agent(pod, "label", client(proxy.url(), token(pod, rules -> rules)));
        proxy.rule((method, path, query) -> new Fault.Delay(Duration.ofMillis(300)));

        JsonNode report = drain(agent, "completed");
        assertThat(step(report, "withdraw").get("outcome").asText()).isEqualTo("completed");
        assertThat(step(report, "withdraw").get("detail").asText()).contains("confirmed");
        assertThat(cluster.servingLabel(pod)).isEqualTo("false");
    }

    @Test
    void forbiddenPatchFallsBackToProbeAndTheDrainStillCompletes() throws Exception {
        String pod = servingPod("no-patch");
        Agent agent = agent(pod, "label", client(cluster.adminConfig().getMasterUrl(), token(pod, rules -> without(rules, "pods", "patch"))));

        JsonNode report = drain(agent, "completed");
        assertThat(step(report, "withdraw").get("outcome").asText()).isEqualTo("failed");
        assertThat(step(report, "withdraw").get("detail").asText()).contains("patch pods is forbidden").contains("fell back to probe");
        assertThat(cluster.servingLabel(pod)).isEqualTo("true");
    }

    @Test
    void forbiddenWatchOnEndpointSlicesLeavesTheWithdrawalUnverifiedNotStuck() throws Exception {
        String pod = servingPod("no-watch");
        Agent agent = agent(pod, "label", client(cluster.adminConfig().getMasterUrl(),
                token(pod, rules -> without(rules, "endpointslices", "watch"))));

        JsonNode report = drain(agent, "completed");
        JsonNode withdraw = step(report, "withdraw");
        assertThat(withdraw.get("durationSeconds").asDouble()).isLessThan(3.0 + TOLERANCE.toMillis() / 1000.0);
        assertThat(cluster.servingLabel(pod)).isEqualTo("false"); // the flip itself was allowed
        assertThat(withdraw.get("outcome").asText()).isEqualTo("completed");
        // Two right answers, by a race with the EndpointSlice controller: the list the verifier starts from (allowed)
        // already shows the pod withdrawn, so no watch is needed; or it does not yet, and the watch it then needs is
        // refused. The words "unverified" or "not verified" were asked for here, which the second never says: it
        // failed one CI run in four.
        assertThat(withdraw.get("detail").asText()).satisfiesAnyOf(
                detail -> assertThat(detail).contains("label lameduck.io/serving=false; confirmed after "),
                detail -> assertThat(detail).contains("label lameduck.io/serving=false; cannot verify on EndpointSlices: "
                        + "watch endpointslices is forbidden for the agent's service account (HTTP 403); grant it with the Role in "
                        + "helm/lameduck/files/role-rules.yaml"));
    }

    @Test
    void conflictsOnEveryPatchForAWhileAreRetriedFromFreshReadsUntilOneLands() throws Exception {
        String pod = servingPod("conflicts");
        FaultInjectingApiProxy proxy = proxy();
        Agent agent = agent(pod, "label", client(proxy.url(), token(pod, rules -> rules)));
        long conflictsUntil = System.nanoTime() + Duration.ofMillis(1500).toNanos();
        proxy.rule((method, path, query) -> "PATCH".equals(method) && path.endsWith("/pods/" + pod) && System.nanoTime() - conflictsUntil < 0
                ? new Fault.Status(409, "Conflict") : Fault.FORWARD);

        JsonNode report = drain(agent, "completed");
        assertThat(step(report, "withdraw").get("outcome").asText()).as(report.toString()).isEqualTo("completed");
        assertThat(step(report, "withdraw").get("detail").asText()).contains("confirmed");
        assertThat(proxy.seen()).filteredOn(s -> s.fault() instanceof Fault.Status).hasSizeGreaterThan(1);
        assertThat(cluster.servingLabel(pod)).isEqualTo("false");
    }

    @Test
    void theEndpointSliceWatchDroppingMidVerificationIsReplacedAndStillConfirms() throws Exception {
        String pod = servingPod("watch-drop");
        FaultInjectingApiProxy proxy = proxy();
        // probe strategy: the withdrawal takes as long as the (test) kubelet's readiness probe, so the watch is cut mid-way
        Agent agent = agent(pod, "probe", client(proxy.url(), token(pod, rules -> rules)));
        java.util.concurrent.atomic.AtomicInteger sliceWatches = new java.util.concurrent.atomic.AtomicInteger();
        proxy.rule((method, path, query) -> path.contains("/endpointslices") && query != null && query.contains("watch=true")
                && sliceWatches.incrementAndGet() == 1 ? new Fault.Cut(Duration.ofMillis(300)) : Fault.FORWARD);
        java.util.concurrent.CompletableFuture<JsonNode> drained = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return drain(agent, "completed");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(3)).until(() -> sliceWatches.get() >= 2); // cut, and watched again
        cluster.containersReady(pod, false); // the readiness probe sees /readyz 503

        JsonNode report = drained.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(step(report, "withdraw").get("outcome").asText()).as(report.toString()).isEqualTo("completed");
        assertThat(step(report, "withdraw").get("detail").asText()).contains("confirmed");
    }

    private static List<PolicyRule> without(List<PolicyRule> rules, String resource, String verb) {
        return rules.stream().map(rule -> rule.getResources().contains(resource)
                ? new PolicyRuleBuilder(rule).withVerbs(rule.getVerbs().stream().filter(v -> !v.equals(verb)).toList()).build()
                : rule).toList();
    }
}
