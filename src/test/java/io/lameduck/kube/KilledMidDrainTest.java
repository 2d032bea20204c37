package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.labels;
import static io.lameduck.testsupport.Slack.TOLERANCE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.lameduck.AgentProcess;
import io.lameduck.http.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged agent (a real process) on the real kube-apiserver, killed with SIGKILL in the middle of the drain that
 * its pod's deletion started, then restarted as the kubelet would restart the container: the new agent comes up
 * DRAINING (never READY, {@code /readyz} never 200), keeps the pod withdrawn, and its drain ends within the pod's
 * deadline ({@code deletionTimestamp} minus the safety margin).
 */
@Tag("kube")
@Tag("process")
class KilledMidDrainTest {
    private static final long GRACE_SECONDS = 10;

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("killed");

    @TempDir
    Path dir;

    @Test
    void killedWithSigkillMidDrainTheRestartedAgentResumesDrainingAndEndsWithinThePodsDeadline() throws Exception {
        Pod pod = cluster.servingPod("app", labels("app", true), GRACE_SECONDS);
        Path kubeconfig = cluster.kubeconfig(dir.resolve("kubeconfig"), cluster.agentToken("lameduck", rules -> rules));
        Map<String, String> env = Map.of("KUBECONFIG", kubeconfig.toString(),
                "POD_NAME", "app", "POD_NAMESPACE", cluster.namespace(), "LAMEDUCK_SERVER_HOST", "127.0.0.1", "LAMEDUCK_SERVER_PORT", "0");
        Path config = Files.writeString(dir.resolve("lameduck.yaml"), "drain: {budget: 30s, safetyMargin: 1s, propagationDelay: 100ms, "
                + "withdraw: {strategy: label, timeout: 3s}, hooks: [{name: long, type: sleep, duration: 60s, timeout: 60s}]}\n");

        try (AgentProcess first = AgentProcess.start(env, "serve", "--config", config.toString())) {
            first.awaitListening();
            first.awaitLine("-> READY");
            cluster.deletePod("app", GRACE_SECONDS);
            first.awaitLine("started by pod-deletion");
            // withdrawn (the label), then 100ms of propagation: the drain is in its 60s hook when it is killed
            await().atMost(Duration.ofSeconds(5)).until(() -> "false".equals(cluster.servingLabel("app")));
            cluster.awaitEndpoint("app", pod, null);
            first.kill9();
        }
        Instant deletionTimestamp = Instant.parse(cluster.pod("app").getMetadata().getDeletionTimestamp());

        try (AgentProcess second = AgentProcess.start(env, "serve", "--config", config.toString())) {
            int port = second.awaitListening();
            HttpClient http = HttpClient.newHttpClient();
            List<Integer> readiness = new CopyOnWriteArrayList<>();
            AtomicBoolean probing = new AtomicBoolean(true);
            Thread prober = new Thread(() -> {
                while (probing.get()) {
                    try {
                        readiness.add(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode());
                        Thread.sleep(20);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            prober.start();
            JsonNode[] report = new JsonNode[1];
            await().atMost(Duration.ofSeconds(GRACE_SECONDS + 5)).pollInterval(Duration.ofMillis(100)).until(() -> {
                JsonNode status = Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
                report[0] = status.get("drain");
                return report[0] != null && !report[0].isNull() && !"running".equals(report[0].get("outcome").asText());
            });
            probing.set(false);
            prober.join();

            assertThat(report[0].get("trigger").asText()).isEqualTo("pod-deletion");
            assertThat(report[0].get("deadlineSource").asText()).startsWith("pod deletionTimestamp");
            assertThat(report[0].get("outcome").asText()).isEqualTo("deadline_exceeded"); // the 60s hook was cut at the deadline
            Instant finished = Instant.parse(report[0].get("finishedAt").asText());
            assertThat(finished).isBeforeOrEqualTo(deletionTimestamp.minusSeconds(1).plus(TOLERANCE));
            assertThat(Instant.parse(report[0].get("deadline").asText())).isBeforeOrEqualTo(deletionTimestamp.minusSeconds(1));
            assertThat(readiness).isNotEmpty().doesNotContain(200);
            assertThat(cluster.servingLabel("app")).isEqualTo("false");
            assertThat(second.stdout()).anyMatch(l -> l.contains("STARTING -> DRAINING")).noneMatch(l -> l.contains("-> READY"));

            second.sigterm();
            assertThat(second.awaitExit(Duration.ofSeconds(10))).as(String.join("\n", second.stdout()) + second.stderrText()).isZero();
        }
    }
}
