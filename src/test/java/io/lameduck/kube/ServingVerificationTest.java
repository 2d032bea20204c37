package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.lameduck.Agent;
import io.lameduck.config.AgentConfig;
import io.lameduck.drain.Withdrawal;
import io.lameduck.http.Json;
import io.lameduck.lifecycle.State;
import io.lameduck.logging.LogCapture;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.event.Level;

/**
 * Withdrawn means absent or {@code serving=false} in every EndpointSlice, on the real EndpointSlice controller;
 * and the warnings where withdrawal cannot work or leaves a Service empty. {@link TestKubelet} plays the kubelet:
 * "the readiness probe saw /readyz 503" is the test setting the container unready.
 */
@Tag("kube")
class ServingVerificationTest {
    private static final String GATE = "lameduck.io/serving";

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("serving");

    @Test
    void aDeletedPodIsReadyFalseAtOnceButTheWithdrawStepWaitsUntilServingTurnsFalse() throws Exception {
        Pod pod = cluster.runPod("slow", Map.of("app", "slow"), List.of(), 60);
        Pod peer = cluster.runPod("slow-peer", Map.of("app", "slow"), List.of(), 60);
        cluster.service("slow", Map.of("app", "slow"));
        cluster.awaitEndpoint("slow", pod, true);
        cluster.awaitEndpoint("slow", peer, true);
        AgentConfig config = config("server: {host: 127.0.0.1, port: 0}\n"
                + "drain: {propagationDelay: 100ms, withdraw: {strategy: probe, timeout: 20s}}\n");
        PrometheusRegistry registry = new PrometheusRegistry();
        Agent agent = Agent.create(config, registry,
                Optional.of(KubeIntegration.using(config, cluster.agentClient(), cluster.identity("slow"), registry)));
        try {
            agent.start();
            cluster.deletePod("slow", 60);
            cluster.awaitEndpoint("slow", pod, false); // Kubernetes: ready = serving && !terminating
            assertThat(cluster.endpointServing("slow", pod)).contains(true);

            // The drain (trigger pod-deletion) must not get past withdraw while the endpoint still serves.
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> agent.lifecycle().state() == State.DRAINING && status(agent).get("drain").get("steps").size() == 1);
            cluster.containersReady("slow", false); // the readiness probe sees /readyz 503

            await().atMost(Duration.ofSeconds(20)).until(() -> agent.lifecycle().state() == State.DRAINED);
            JsonNode drain = status(agent).get("drain");
            assertThat(drain.get("trigger").asText()).isEqualTo("pod-deletion");
            JsonNode withdraw = drain.get("steps").get(1);
            assertThat(withdraw.get("outcome").asText()).isEqualTo("completed");
            assertThat(withdraw.get("detail").asText()).contains("confirmed after")
                    .contains("absent or serving=false in every one of 1 EndpointSlice of Service slow");
            assertThat(withdraw.get("durationSeconds").asDouble()).isGreaterThanOrEqualTo(1.0);
            JsonNode seen = drain.get("withdrawal");
            assertThat(seen.get("servingFalseSeenAfterSeconds").asDouble()).isGreaterThanOrEqualTo(1.0)
                    .isGreaterThan(seen.get("readyFalseSeenAfterSeconds").asDouble());
            assertThat(Instant.parse(seen.get("readyFalseSeenAt").asText())).isBefore(Instant.parse(seen.get("servingFalseSeenAt").asText()));
            assertThat(seen.has("warnings")).isFalse();
            assertThat(cluster.endpointServing("slow", pod)).contains(false);
        } finally {
            agent.stop();
        }
    }

    @Test
    void aServiceWithPublishNotReadyAddressesIsWarnedAtStartUpAndInTheReportAndNotWaitedFor() throws Exception {
        Pod pod = cluster.runPod("pnr", Map.of("app", "pnr"), List.of(GATE), 30);
        Pod peer = cluster.runPod("pnr-peer", Map.of("app", "pnr"), List.of(), 30);
        cluster.service("pnr", Map.of("app", "pnr"));
        cluster.admin().services().inNamespace(cluster.namespace()).resource(new ServiceBuilder()
                .withNewMetadata().withName("pnr-peers").endMetadata()
                .withNewSpec().withSelector(Map.of("app", "pnr")).withPublishNotReadyAddresses(true).withClusterIP("None")
                    .addNewPort().withName("http").withPort(8080).endPort()
                .endSpec().build()).create();
        cluster.awaitEndpoint("pnr-peers", pod, true);
        cluster.awaitEndpoint("pnr-peers", peer, true);
        cluster.awaitEndpoint("pnr", peer, true);

        try (LogCapture logs = LogCapture.of(KubeIntegration.class);
                KubeIntegration kube = KubeIntegration.using(config("readiness-gate", "10s"), cluster.agentClient(), cluster.identity("pnr"),
                new PrometheusRegistry())) {
            assertThat(startupWarnings(logs, "readiness-gate")).singleElement().asString()
                    .startsWith("Service pnr-peers has publishNotReadyAddresses: true").contains("only drain.withdraw.strategy: label can");
            kube.withdrawal().restore();
            cluster.awaitEndpoint("pnr", pod, true);

            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(result.status()).as(result.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(result.detail()).endsWith("every one of 1 EndpointSlice of Service pnr");
            assertThat(result.report().warnings()).singleElement().asString().startsWith("Service pnr-peers has publishNotReadyAddresses");
            assertThat(cluster.endpointReady("pnr-peers", pod)).as("still ready there").contains(true);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cluster.eventReasons("pnr")).contains("PublishNotReadyAddresses"));
    }

    @Test
    void theLastServingEndpointIsWarnedWithAnEventAndWithdrawnByDefault() throws Exception {
        Pod pod = cluster.servingPod("last", KubeTestSupport.labels("last", true), 30);
        try (LogCapture logs = LogCapture.of(KubeIntegration.class);
                KubeIntegration kube = KubeIntegration.using(config("label", "10s"), cluster.agentClient(), cluster.identity("last"),
                new PrometheusRegistry())) {
            assertThat(startupWarnings(logs, "label")).singleElement().asString()
                    .startsWith("Service last has no serving endpoint besides this pod");

            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(result.status()).as(result.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(result.report().warnings()).containsExactly("the pod is the last serving endpoint of Service last: "
                    + "withdrawing it leaves it with none (drain.withdraw.lastServingEndpoint: withdraw)");
            assertThat(result.report().servingFalseSeenAfterSeconds()).isNotNull();
            assertThat(cluster.endpointReady("last", pod)).isEmpty();
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cluster.eventReasons("last")).contains("LastServingEndpoint"));
    }

    @Test
    void withLastServingEndpointKeepTheLastEndpointIsNotWithdrawn() throws Exception {
        Pod pod = cluster.servingPod("kept", KubeTestSupport.labels("kept", true), 30);
        AgentConfig config = config("drain: {withdraw: {strategy: label, timeout: 10s, lastServingEndpoint: keep}}\n");
        try (KubeIntegration kube = KubeIntegration.using(config, cluster.agentClient(), cluster.identity("kept"), new PrometheusRegistry())) {
            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(result.status()).as(result.detail()).isEqualTo(Withdrawal.Status.UNVERIFIED);
            assertThat(result.detail()).startsWith("label: not withdrawn: the pod is the last serving endpoint of Service kept: "
                    + "kept in endpoints (drain.withdraw.lastServingEndpoint: keep)");
            assertThat(cluster.pod("kept").getMetadata().getLabels())
                    .containsEntry("lameduck.io/serving", "true");
            assertThat(cluster.endpointReady("kept", pod)).contains(true);
        }
    }

    private static JsonNode status(Agent agent) throws Exception {
        return Json.MAPPER.readTree(HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/status")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    /** What start-up warned about the Services selecting the pod: the WARN lines "drain.withdraw.strategy S: ...", without the prefix. */
    private static List<String> startupWarnings(LogCapture logs, String strategy) {
        String prefix = "drain.withdraw.strategy " + strategy + ": ";
        return logs.messages(Level.WARN).stream().filter(m -> m.startsWith(prefix)).map(m -> m.substring(prefix.length())).toList();
    }
}
