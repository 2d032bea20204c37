package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static io.lameduck.kube.KubeTestSupport.labels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.lameduck.Agent;
import io.lameduck.config.AgentConfig;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.http.Json;
import io.lameduck.lifecycle.State;
import io.lameduck.lifecycle.Transition;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The whole agent (admin server, lifecycle, drain) wired to a real cluster, as the chart's Role allows. */
@Tag("kube")
class AgentOnClusterTest {
    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("agent");

    private final HttpClient http = HttpClient.newHttpClient();

    private Agent agentFor(String podName, String yaml) {
        AgentConfig config = config("server: {host: 127.0.0.1, port: 0}\n" + yaml);
        PrometheusRegistry registry = new PrometheusRegistry();
        KubeIntegration kube = KubeIntegration.using(config, cluster.agentClient(), cluster.identity(podName), registry);
        return Agent.create(config, registry, Optional.of(kube));
    }

    private JsonNode call(Agent agent, String method, String path, String body) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        return ((com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(response.body())).put("httpStatus", response.statusCode());
    }

    @Test
    void aRestartedAgentOnADeletingPodComesUpDrainingAndNeverReady() throws Exception {
        cluster.runPod("restarted", labels("restarted", true), List.of(), 60);
        // The pod is being deleted while the agent is down; no kubelet finishes the deletion.
        cluster.deletePod("restarted", 60);
        Agent agent = agentFor("restarted", "drain: {propagationDelay: 100ms, withdraw: {strategy: label, timeout: 5s}}\n");
        try {
            agent.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> agent.lifecycle().state() == State.DRAINED);

            assertThat(agent.lifecycle().snapshot().history()).extracting(Transition::to)
                    .containsExactly(State.STARTING, State.DRAINING, State.DRAINED);
            JsonNode status = call(agent, "GET", "/status", null);
            assertThat(status.get("drain").get("trigger").asText()).isEqualTo("pod-deletion");
            assertThat(status.get("drain").get("deadlineSource").asText()).startsWith("pod deletionTimestamp");
            assertThat(call(agent, "GET", "/readyz", null).get("httpStatus").asInt()).isEqualTo(503);
        } finally {
            agent.stop();
        }
    }

    @Test
    void aRestartedAgentRestoresMaintenanceFromThePodAnnotationAndEndsItOnRequest() throws Exception {
        Pod pod = cluster.servingPod("maintained", labels("maintained", true), 30);
        String yaml = "drain: {withdraw: {strategy: label, timeout: 10s}}\n";
        Instant since = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        try (KubeIntegration before = KubeIntegration.using(config(yaml), cluster.agentClient(), cluster.identity("maintained"),
                new PrometheusRegistry())) {
            before.withdrawal().withdraw(Duration.ofSeconds(10)); // what the previous agent did when maintenance began
            before.maintenanceStore().save(new MaintenanceStatus(true, "kernel upgrade", since, since.plus(Duration.ofHours(1)), "withdrawn"));
        }

        Agent agent = agentFor("maintained", yaml);
        try {
            agent.start();
            assertThat(agent.lifecycle().state()).isEqualTo(State.READY);
            JsonNode ready = call(agent, "GET", "/readyz", null);
            assertThat(ready.get("httpStatus").asInt()).isEqualTo(503);
            assertThat(ready.get("reason").asText()).isEqualTo("maintenance: kernel upgrade");
            assertThat(cluster.pod("maintained").getMetadata().getLabels())
                    .containsEntry("lameduck.io/serving", "false");
            cluster.awaitEndpoint("maintained", pod, null);

            JsonNode off = call(agent, "DELETE", "/maintenance", null);
            assertThat(off.get("active").asBoolean()).isFalse();
            assertThat(cluster.pod("maintained").getMetadata().getLabels())
                    .containsEntry("lameduck.io/serving", "true");
            assertThat(cluster.pod("maintained").getMetadata().getAnnotations())
                    .doesNotContainKey("lameduck.io/maintenance");
            cluster.awaitEndpoint("maintained", pod, true);
            assertThat(call(agent, "GET", "/readyz", null).get("httpStatus").asInt()).isEqualTo(200);
        } finally {
            agent.stop();
        }
    }

    @Test
    void withTheReadinessGateTheAgentMakesThePodServingAtStartAndPrestopWithdrawsItVerified() throws Exception {
        Pod pod = cluster.runPod("gated", Map.of("app", "gated"), List.of("lameduck.io/serving"), 30);
        cluster.service("gated", Map.of("app", "gated"));
        cluster.awaitEndpoint("gated", pod, false); // the gate is not True yet: not ready
        Agent agent = agentFor("gated", "drain: {propagationDelay: 100ms, withdraw: {strategy: readiness-gate, timeout: 10s}}\n");
        try {
            agent.start();
            cluster.awaitEndpoint("gated", pod, true);

            // final=true: the pod is not being deleted, so a plain /prestop would be a container restart.
            JsonNode report = call(agent, "POST", "/prestop?final=true", null);
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            JsonNode withdraw = report.get("steps").get(1);
            assertThat(withdraw.get("name").asText()).isEqualTo("withdraw");
            assertThat(withdraw.get("outcome").asText()).isEqualTo("completed");
            assertThat(withdraw.get("detail").asText()).contains("confirmed");
            assertThat(cluster.endpointReady("gated", pod)).contains(false);
            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("lameduck_withdrawal_duration_seconds_count{confirmed=\"true\",strategy=\"readiness-gate\"} 1")
                    .contains("lameduck_kube_requests_total{code=\"200\",resource=\"pods/status\",verb=\"patch\"}");
        } finally {
            agent.stop();
        }
        assertThat(cluster.eventReasons("gated")).contains("DrainStarted", "Withdrawn", "DrainCompleted");
    }
}
