package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.lameduck.image.LocalDocker;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.ToStringConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The agent image (built from agent/Dockerfile by {@code scripts/images.sh agent}) against the real
 * kube-apiserver of {@link KubeTestCluster}, configured the way a pod configures it: the in-cluster service
 * account files (token, ca.crt, namespace) mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount,
 * {@code KUBERNETES_SERVICE_HOST}/{@code _PORT}, the downward-API {@code POD_NAME}/{@code POD_NAMESPACE}, the
 * config mounted read-only at /etc/lameduck, a read-only root with a tmpfs at /tmp, and the chart's Role.
 *
 * <p>The container shares the host's network namespace ({@code --network host}): the test kube-apiserver binds
 * 127.0.0.1 only, which a container on the bridge cannot reach, and its certificate names 127.0.0.1 rather than
 * the bridge's gateway. In a pod the sidecar shares the pod's network namespace the same way.
 */
@Tag("docker")
@ExtendWith(LocalDocker.class)
class AgentImageOnClusterTest {
    private static final String CONFIG = """
            server: {host: 127.0.0.1, port: 7979}
            drain:
              budget: 20s
              safetyMargin: 1s
              propagationDelay: 100ms
              withdraw: {strategy: readiness-gate, timeout: 10s}
            kube: {mode: enabled, events: true}
            logging: {format: json, level: info}
            """;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String image;

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("image");

    @BeforeAll
    static void image() {
        image = LocalDocker.image("agent");
    }

    @Test
    void theImageUsesInClusterConfigToGateThePodAndOnSigtermWithdrawsItVerifiedAndExitsZero(@TempDir Path dir) throws Exception {
        Pod pod = cluster.runPod("imaged", Map.of("app", "imaged"), List.of("lameduck.io/serving"), 30);
        cluster.service("imaged", Map.of("app", "imaged"));
        cluster.awaitEndpoint("imaged", pod, false); // the gate is not True yet
        URI api = URI.create(cluster.adminConfig().getMasterUrl());
        int port = freePort();
        ToStringConsumer logs = new ToStringConsumer();

        try (GenericContainer<?> agent = new GenericContainer<>(DockerImageName.parse(image))
                .withNetworkMode("host")
                .withEnv(Map.of(
                        "KUBERNETES_SERVICE_HOST", api.getHost(),
                        "KUBERNETES_SERVICE_PORT", Integer.toString(api.getPort()),
                        "POD_NAME", "imaged",
                        "POD_NAMESPACE", cluster.namespace(),
                        "LAMEDUCK_SERVER_PORT", Integer.toString(port)))
                .withFileSystemBind(serviceAccount(dir.resolve("sa")).toString(), "/var/run/secrets/kubernetes.io/serviceaccount", BindMode.READ_ONLY)
                .withFileSystemBind(readable(dir.resolve("config"), Map.of("lameduck.yaml", CONFIG)).toString(), "/etc/lameduck", BindMode.READ_ONLY)
                .withTmpFs(Map.of("/tmp", "rw,size=16m"))
                .withCreateContainerCmdModifier(cmd -> cmd.withHostConfig(cmd.getHostConfig().withReadonlyRootfs(true)))
                .withLogConsumer(logs)
                .waitingFor(Wait.forLogMessage(".*STARTING -> READY.*", 1).withStartupTimeout(Duration.ofSeconds(60)))) {
            agent.start();

            cluster.awaitEndpoint("imaged", pod, true); // the agent set its readiness gate True
            HttpResponse<String> ready = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(200);

            String id = agent.getContainerId();
            agent.getDockerClient().killContainerCmd(id).withSignal("TERM").exec();
            Integer exit = agent.getDockerClient().waitContainerCmd(id).start().awaitStatusCode(30, TimeUnit.SECONDS);
            assertThat(exit).as("exit code; log:\n%s", logs.toUtf8String()).isZero();
        }

        JsonNode report = logs.toUtf8String().lines().filter(line -> line.contains("\"drainReport\"")).findFirst()
                .map(AgentImageOnClusterTest::json).map(line -> line.get("drainReport"))
                .orElseThrow(() -> new AssertionError("no drain report in the log:\n" + logs.toUtf8String()));
        assertThat(report.get("trigger").asText()).isEqualTo("signal");
        assertThat(report.get("outcome").asText()).isEqualTo("completed");
        assertThat(report.get("deadlineSource").asText()).startsWith("pod");
        JsonNode withdraw = report.get("steps").get(1);
        assertThat(withdraw.get("name").asText()).isEqualTo("withdraw");
        assertThat(withdraw.get("outcome").asText()).isEqualTo("completed");
        assertThat(withdraw.get("detail").asText()).contains("confirmed");

        assertThat(gate(cluster.pod("imaged"))).isEqualTo("False");
        assertThat(cluster.endpointReady("imaged", pod)).contains(false);
        await("the agent's Events").atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(cluster.eventReasons("imaged")).contains("DrainStarted", "Withdrawn", "DrainCompleted"));
    }

    private static String gate(Pod pod) {
        return pod.getStatus().getConditions().stream().filter(c -> "lameduck.io/serving".equals(c.getType()))
                .map(PodCondition::getStatus).findFirst().orElse(null);
    }

    /** What the kubelet mounts for a pod's service account: the agent's token, the API's CA, the namespace. */
    private Path serviceAccount(Path dir) throws IOException {
        String ca = cluster.adminConfig().getCaCertData() != null
                ? new String(Base64.getDecoder().decode(cluster.adminConfig().getCaCertData()), StandardCharsets.UTF_8)
                : Files.readString(Path.of(cluster.adminConfig().getCaCertFile()));
        return readable(dir, Map.of(
                "token", cluster.agentToken(KubeFixture.AGENT_ACCOUNT, rules -> rules),
                "ca.crt", ca,
                "namespace", cluster.namespace()));
    }

    /** A directory of files that uid 10001 in the container can read. */
    private static Path readable(Path dir, Map<String, String> files) throws IOException {
        Files.createDirectories(dir);
        for (Map.Entry<String, String> file : files.entrySet()) {
            Path path = dir.resolve(file.getKey());
            Files.writeString(path, file.getValue());
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-r--r--"));
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + line, e);
        }
    }
}
