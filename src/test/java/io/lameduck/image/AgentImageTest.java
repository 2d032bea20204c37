package io.lameduck.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.ToStringConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The agent image, built from agent/Dockerfile by {@code scripts/images.sh agent} (local base, the jar of
 * target/), run by Testcontainers on the project's own engine the way the Helm chart runs it: read-only root
 * file system with a tmpfs at /tmp, the config mounted read-only at /etc/lameduck, the admin port published on
 * 127.0.0.1. Standalone (no Kubernetes API); {@code io.lameduck.kube.AgentImageOnClusterTest} runs the same
 * image against the real kube-apiserver.
 */
@Tag("docker")
@ExtendWith(LocalDocker.class)
class AgentImageTest {
    private static final String TOKEN = "image-test-token";
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * An exec drain hook that leaves an orphan behind: the hook's shell starts a background shell in a session of its
     * own ({@code setsid}) and exits, so the orphan is re-parented to PID 1. (The agent kills what is left in a hook's
     * process group when the hook ends; a new session escapes that — a daemon does this — and only an init that
     * reaps keeps it from staying a zombie once it exits.) The hook exits only once the orphan has written its pid
     * file, that is once it runs in its new session: exiting earlier would race the agent's clean-up of the hook's
     * process group, which kills an orphan still on its way through setsid (it made this test fail on a busy machine).
     */
    private static final String CONFIG = """
            server: {host: 0.0.0.0, port: 7979}
            drain:
              budget: 20s
              safetyMargin: 1s
              propagationDelay: 100ms
              withdraw: {strategy: probe, timeout: 1s}
              hooks:
                - name: orphan
                  type: exec
                  priority: 10
                  timeout: 5s
                  command: ["bash", "-c", "(setsid bash -c 'echo $$ > /tmp/orphan.new; mv /tmp/orphan.new /tmp/orphan.pid; exec sleep 2' </dev/null >/dev/null 2>&1 &); until [ -e /tmp/orphan.pid ]; do sleep 0.02; done; exit 0"]
            kube: {mode: disabled}
            logging: {format: json, level: info}
            """;

    private static String image;
    private static Path configDir;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void build(@TempDir Path dir) throws IOException {
        image = LocalDocker.image("agent");
        // Bind-mounted read-only at /etc/lameduck, like the chart's ConfigMap; readable by uid 10001.
        configDir = dir;
        Files.writeString(dir.resolve("lameduck.yaml"), CONFIG);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir.resolve("lameduck.yaml"), PosixFilePermissions.fromString("rw-r--r--"));
    }

    private static GenericContainer<?> agent(ToStringConsumer logs) {
        return new GenericContainer<>(DockerImageName.parse(image))
                .withExposedPorts(7979)
                .withEnv("LAMEDUCK_TOKEN", TOKEN)
                .withFileSystemBind(configDir.toString(), "/etc/lameduck", BindMode.READ_ONLY)
                .withTmpFs(Map.of("/tmp", "rw,size=16m"))
                .withCreateContainerCmdModifier(cmd -> cmd.withHostConfig(cmd.getHostConfig()
                        .withReadonlyRootfs(true)
                        // Published on loopback only (a random port), not on every interface of the host.
                        .withPublishAllPorts(false)
                        .withPortBindings(new PortBinding(Ports.Binding.bindIp("127.0.0.1"), ExposedPort.tcp(7979)))))
                .withLogConsumer(logs)
                .waitingFor(Wait.forHttp("/readyz").forStatusCode(200).withStartupTimeout(Duration.ofSeconds(60)));
    }

    @Test
    void runsAsUser10001OnAReadOnlyRootWithTiniAsPid1AndTheClassDataSharingArchive() throws Exception {
        ToStringConsumer logs = new ToStringConsumer();
        try (GenericContainer<?> agent = agent(logs)) {
            agent.start();

            HttpResponse<String> ready = get(agent, "/readyz");
            assertThat(ready.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(ready.body()).get("state").asText()).isEqualTo("READY");

            assertThat(argv(agent, 1)).as("PID 1").startsWith("tini", "--", "/opt/lameduck/lameduck", "serve");
            int java = javaPid(agent);
            assertThat(argv(agent, java)).as("the JVM the launcher started")
                    .contains("-XX:SharedArchiveFile=/opt/lameduck/lameduck.jsa", "-XX:-UsePerfData", "-Xmx32m", "-jar", "/opt/lameduck/lameduck.jar");
            assertThat(sh(agent, "cat /proc/" + java + "/maps").getStdout()).as("the archive is mapped into the JVM")
                    .contains("/opt/lameduck/lameduck.jsa");
            assertThat(sh(agent, "grep -E '^(Uid|Gid):' /proc/" + java + "/status").getStdout())
                    .containsPattern("Uid:\\s+10001\\s+10001\\s+10001\\s+10001")
                    .containsPattern("Gid:\\s+10001\\s+10001\\s+10001\\s+10001");

            assertThat(agent.getContainerInfo().getHostConfig().getReadonlyRootfs()).isTrue();
            ExecResult write = sh(agent, "touch /opt/lameduck/probe");
            assertThat(write.getExitCode()).isNotZero();
            assertThat(write.getStderr()).contains("Read-only file system");
            assertThat(sh(agent, "touch /tmp/probe").getExitCode()).as("/tmp is the one writable path").isZero();
        }
        assertThat(logs.toUtf8String()).doesNotContain("\"level\":\"ERROR\"");
    }

    @Test
    void tiniReapsTheOrphanOfAnExecDrainHook() throws Exception {
        ToStringConsumer logs = new ToStringConsumer();
        try (GenericContainer<?> agent = agent(logs)) {
            agent.start();
            HttpResponse<String> prestop = http.send(HttpRequest.newBuilder(url(agent, "/prestop"))
                    .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(prestop.statusCode()).as(prestop.body()).isEqualTo(200);
            JsonNode report = JSON.readTree(prestop.body());
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertThat(report.get("hooks").get(0).get("name").asText()).isEqualTo("orphan");
            assertThat(report.get("hooks").get(0).get("outcome").asText()).isEqualTo("completed");

            assertThat(logs.toUtf8String()).as("the orphan escaped the hook's process group")
                    .doesNotContain("left processes");
            ExecResult pidFile = sh(agent, "cat /tmp/orphan.pid");
            assertThat(pidFile.getExitCode()).as("the hook ended only after the orphan wrote its pid file").isZero();
            int orphan = Integer.parseInt(pidFile.getStdout().strip());
            assertThat(sh(agent, "grep PPid /proc/" + orphan + "/status").getStdout()).as("the orphan was adopted by PID 1")
                    .containsPattern("PPid:\\s+1\\n");

            // It exits 2 s after it started: then it must be reaped (gone), not left a zombie.
            await("orphan " + orphan + " reaped").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> sh(agent, "test -e /proc/" + orphan).getExitCode() != 0);
            assertThat(processes(agent)).as("processes in the container (pid, command, state, parent)")
                    .noneMatch(process -> process.state().equals("Z"));
        }
    }

    @Test
    void sigtermDrainsAndExitsZero() throws Exception {
        ToStringConsumer logs = new ToStringConsumer();
        try (GenericContainer<?> agent = agent(logs)) {
            agent.start();
            String id = agent.getContainerId();
            agent.getDockerClient().killContainerCmd(id).withSignal("TERM").exec();
            Integer exit = agent.getDockerClient().waitContainerCmd(id).start().awaitStatusCode(30, TimeUnit.SECONDS);

            assertThat(exit).as("exit code; log:\n%s", logs.toUtf8String()).isZero();
            JsonNode report = logs.toUtf8String().lines().filter(line -> line.contains("\"drainReport\""))
                    .map(AgentImageTest::json).map(line -> line.get("drainReport")).findFirst()
                    .orElseThrow(() -> new AssertionError("no drain report in the log:\n" + logs.toUtf8String()));
            assertThat(report.get("trigger").asText()).isEqualTo("signal");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertThat(logs.toUtf8String()).contains("STOPPING -> STOPPED");
        }
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + line, e);
        }
    }

    private HttpResponse<String> get(GenericContainer<?> agent, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(url(agent, path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static URI url(GenericContainer<?> agent, String path) {
        return URI.create("http://127.0.0.1:" + agent.getMappedPort(7979) + path);
    }

    private static ExecResult sh(GenericContainer<?> agent, String script) throws Exception {
        return agent.execInContainer("bash", "-c", script);
    }

    private static List<String> argv(GenericContainer<?> agent, int pid) throws Exception {
        return Arrays.asList(sh(agent, "cat /proc/" + pid + "/cmdline").getStdout().split("\0"));
    }

    /** The launcher execs java, so the JVM is PID 1's only child. */
    private static int javaPid(GenericContainer<?> agent) throws Exception {
        String children = sh(agent, "cat /proc/1/task/1/children").getStdout().strip();
        assertThat(children).as("children of PID 1").matches("\\d+");
        return Integer.parseInt(children);
    }

    record Proc(int pid, String command, String state, int parent) {}

    /** Every process in the container, from /proc/PID/stat. */
    private static List<Proc> processes(GenericContainer<?> agent) throws Exception {
        String stats = sh(agent, "for f in /proc/[0-9]*/stat; do cat \"$f\" 2>/dev/null; echo; done").getStdout();
        return stats.lines().filter(line -> line.contains(")")).map(line -> {
            String[] rest = line.substring(line.lastIndexOf(')') + 2).split(" ");
            return new Proc(Integer.parseInt(line.substring(0, line.indexOf(' '))),
                    line.substring(line.indexOf('(') + 1, line.lastIndexOf(')')), rest[0], Integer.parseInt(rest[1]));
        }).toList();
    }
}
