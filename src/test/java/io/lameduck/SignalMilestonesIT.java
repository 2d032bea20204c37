package io.lameduck;

import static io.lameduck.testsupport.Slack.TOLERANCE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.http.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to the packaged agent (a real process) at every milestone of its start-up and shutdown, each reached
 * deterministically from its log lines or {@code /status}, never by sleeping: before the command line and configuration
 * are read; after the configuration, before the listener starts (while the agent waits for a silent Kubernetes API);
 * as the listener starts; READY; during propagation; during hooks; twice; while stopping after the drain completed;
 * together with a {@code /prestop}. (After the listener started but before READY needs a start-up that waits for the Kubernetes API:
 * {@code kube/SigtermBeforeReadyTest}.)
 *
 * <p>Every one asserts the whole outcome ({@link #assertDrainedOnceAndExitedCleanly}): exit code 0, exactly one drain
 * report logged, the drain ended within its deadline (+ {@link #TOLERANCE}), the process gone before the budget ran out
 * (deadline + safety margin), and nothing it started still running.
 */
@Tag("process")
class SignalMilestonesIT {
    private static final Map<String, String> LOOPBACK_PORT_0 = Map.of("LAMEDUCK_SERVER_HOST", "127.0.0.1", "LAMEDUCK_SERVER_PORT", "0");
    /** Every configuration here keeps 1 s back from the budget: the process must be gone within it. */
    private static final Duration SAFETY_MARGIN = Duration.ofSeconds(1);
    private final HttpClient http = HttpClient.newHttpClient();
    @TempDir
    Path dir;

    @Test
    void sigtermBeforeTheCommandLineConfigurationAndLoggingAreSetUpStillDrainsAndExitsZero() throws Exception {
        Map<String, String> env = new HashMap<>(LOOPBACK_PORT_0);
        // The JVM says when it loads the reader of serve's command line: main has just begun and is about to read it.
        env.put("JAVA_OPTS", "-Xlog:class+load=info:stdout");
        try (AgentProcess agent = AgentProcess.serve(dir, "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 100ms}\n", env)) {
            agent.awaitLine("io.lameduck.cli.ServeArguments source:");
            agent.sigterm();

            JsonNode report = assertDrainedOnceAndExitedCleanly(agent, List.of());
            assertThat(report.get("trigger").asText()).isEqualTo("signal");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertThat(agent.stdout()).anyMatch(l -> l.startsWith("{") && l.contains("received SIGTERM during start-up"))
                    .noneMatch(l -> l.contains("-> READY"));
        }
    }

    /** Around the listener's start: where exactly the signal lands varies; the tests before and after pin the milestones. */
    @Test
    void sigtermAsTheListenerStartsStillDrainsStopsAndExitsZero() throws Exception {
        try (AgentProcess agent = AgentProcess.serve(dir,
                "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 100ms}\n", LOOPBACK_PORT_0, "--log-format", "JSON")) {
            agent.awaitLine("CREATED -> STARTING"); // logged just before the listener is started
            agent.sigterm();

            JsonNode report = assertDrainedOnceAndExitedCleanly(agent, List.of());
            assertThat(report.get("trigger").asText()).isEqualTo("signal");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
        }
    }

    /**
     * After the configuration, the listener open for the probes only: the agent is being built, waiting for a Kubernetes
     * API that never answers. Its start-up steps take milliseconds once it is built, so the drain must be claimed before
     * they run (not left to race them), or the agent becomes READY after the SIGTERM.
     */
    @Test
    void sigtermWhileStillConnectingToASilentKubernetesApiDrainsOnceTheAgentIsBuilt() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> held = new CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept()); // accepts, never answers: connecting hangs until its time limit
                    }
                } catch (IOException closed) {
                    // test over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), """
                    apiVersion: v1
                    kind: Config
                    clusters: [{name: silent, cluster: {server: "https://127.0.0.1:%d", insecure-skip-tls-verify: true}}]
                    users: [{name: agent, user: {token: not-a-real-token}}]
                    contexts: [{name: silent, context: {cluster: silent, user: agent, namespace: default}}]
                    current-context: silent
                    """.formatted(silent.getLocalPort()));
            Map<String, String> env = new HashMap<>(LOOPBACK_PORT_0);
            env.putAll(Map.of("KUBECONFIG", kubeconfig.toString(), "POD_NAME", "app-0", "POD_NAMESPACE", "default",
                    "LAMEDUCK_DRAIN_PROPAGATION_DELAY", "100ms", "LAMEDUCK_DRAIN_SAFETY_MARGIN", "1s"));
            try (AgentProcess agent = AgentProcess.start(env, "serve")) {
                agent.awaitLine("reading pod default/app-0 from the Kubernetes API");
                agent.sigterm();

                JsonNode report = assertDrainedOnceAndExitedCleanly(agent, List.of());
                assertThat(report.get("trigger").asText()).isEqualTo("signal");
                assertThat(agent.stdout()).anyMatch(l -> l.contains("standalone mode")).noneMatch(l -> l.contains("-> READY"))
                        // "during start-up": it came before the agent was built, so before its endpoints were installed
                        .anyMatch(l -> l.contains("received SIGTERM during start-up"));
            } finally {
                for (Socket socket : held) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void sigtermWhenReadyDrainsLogsTheReportAsOneJsonLineAndExitsZero() throws Exception {
        try (AgentProcess agent = AgentProcess.serve(dir,
                "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 200ms, hooks: [{name: settle, type: sleep, duration: 100ms}]}\n", LOOPBACK_PORT_0)) {
            int port = agent.awaitListening();
            assertThat(get(port, "/readyz").statusCode()).isEqualTo(200);
            agent.sigterm();

            JsonNode report = assertDrainedOnceAndExitedCleanly(agent, List.of());
            assertThat(report.get("trigger").asText()).isEqualTo("signal");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertThat(report.get("hooks").get(0).get("name").asText()).isEqualTo("settle");
            assertThat(agent.stdout()).allMatch(l -> l.startsWith("{") && l.endsWith("}"));
        }
    }

    @Test
    void sigtermDuringPropagationJoinsThePrestopDrainWhichStillWaitsItsWholePropagation() throws Exception {
        try (AgentProcess agent = AgentProcess.serve(dir,
                "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 2s, hooks: [{name: settle, type: sleep, duration: 100ms}]}\n", LOOPBACK_PORT_0)) {
            int port = agent.awaitListening();
            CompletableFuture<HttpResponse<String>> prestop = prestop(port);
            awaitFinishedSteps(port, List.of("unready", "withdraw")); // the propagate step is under way
            agent.sigterm();

            HttpResponse<String> answer = prestop.get(20, TimeUnit.SECONDS);
            JsonNode report = assertDrainedOnceAndExitedCleanly(agent, List.of());
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(Json.MAPPER.readTree(answer.body()).get("id").asText()).isEqualTo(report.get("id").asText());
            assertThat(report.get("trigger").asText()).isEqualTo("prestop");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            JsonNode propagate = step(report, "propagate");
            assertThat(propagate.get("outcome").asText()).isEqualTo("completed");
            assertThat(propagate.get("durationSeconds").asDouble()).as("the signal did not cut it short").isGreaterThanOrEqualTo(2.0);
            Instant propagateStart = Instant.parse(report.get("startedAt").asText())
                    .plus(seconds(step(report, "unready"))).plus(seconds(step(report, "withdraw")));
            Instant signalled = Instant.parse(agent.logLine("received SIGTERM").get("ts").asText());
            assertThat(signalled).as("the signal came during propagation")
                    .isBetween(propagateStart.minus(TOLERANCE), propagateStart.plus(seconds(propagate)));
        }
    }

    @Test
    void sigtermDuringHooksJoinsThePrestopDrainAndTheHookRunsToItsEnd() throws Exception {
        Path pidFile = dir.resolve("hook.pid");
        try (AgentProcess agent = AgentProcess.serve(dir, flushHookConfig(pidFile), LOOPBACK_PORT_0)) {
            int port = agent.awaitListening();
            CompletableFuture<HttpResponse<String>> prestop = prestop(port);
            long hookPid = awaitHookPid(pidFile);
            List<ProcessHandle> hook = agent.descendants();
            agent.sigterm();

            HttpResponse<String> answer = prestop.get(20, TimeUnit.SECONDS);
            JsonNode report = assertDrainedOnceAndExitedCleanly(agent, hook);
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(report.get("trigger").asText()).isEqualTo("prestop");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertThat(hook).extracting(ProcessHandle::pid).contains(hookPid);
            assertHookRanToItsEnd(report);
            assertThat(agent.lineIndex("received SIGTERM")).as("the signal came during the hook")
                    .isGreaterThan(agent.lineIndex("started by prestop")).isLessThan(agent.lineIndex("\"drainReport\""));
        }
    }

    @Test
    void sigtermTwiceTheSecondDuringTheHooksOfTheDrainTheFirstStartedChangesNothing() throws Exception {
        Path pidFile = dir.resolve("hook.pid");
        try (AgentProcess agent = AgentProcess.serve(dir, flushHookConfig(pidFile), LOOPBACK_PORT_0)) {
            int port = agent.awaitListening();
            assertThat(get(port, "/readyz").statusCode()).isEqualTo(200);
            agent.sigterm();
            awaitHookPid(pidFile);
            List<ProcessHandle> hook = agent.descendants();
            agent.sigterm();

            JsonNode report = assertDrainedOnceAndExitedCleanly(agent, hook);
            assertThat(report.get("trigger").asText()).isEqualTo("signal");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");
            assertHookRanToItsEnd(report);
            assertThat(agent.lineIndex("received SIGTERM again")).as("the second signal came during the hook and was only noted")
                    .isGreaterThan(agent.lineIndex("started by signal")).isLessThan(agent.lineIndex("\"drainReport\""));
        }
    }

    @Test
    void sigtermWhileStoppingAfterTheDrainCompletedChangesNothingAndTheRequestInFlightIsAnswered() throws Exception {
        try (AgentProcess agent = AgentProcess.serve(dir,
                "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 100ms}\n", LOOPBACK_PORT_0)) {
            int port = agent.awaitListening();
            // A control request whose body trickles in and never finishes: in flight until its 5 s body timeout (408),
            // and never idle, so the graceful stop that follows the drain waits for it and STOPPING lasts that long.
            try (Socket inFlight = new Socket(InetAddress.getLoopbackAddress(), port)) {
                inFlight.getOutputStream().write(("PUT /maintenance HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 1000\r\n\r\n{\"reason\": \"").getBytes(StandardCharsets.US_ASCII));
                inFlight.getOutputStream().flush();
                Thread trickle = new Thread(() -> {
                    try {
                        while (true) {
                            TimeUnit.MILLISECONDS.sleep(200);
                            inFlight.getOutputStream().write('x');
                            inFlight.getOutputStream().flush();
                        }
                    } catch (IOException | InterruptedException answeredOrClosed) {
                        // the server answered (408) and closed, or the test is over
                    }
                }, "body-trickle");
                trickle.setDaemon(true);
                trickle.start();
                agent.sigterm();
                agent.awaitLine("DRAINED -> STOPPING");
                agent.sigterm();

                inFlight.setSoTimeout(15_000);
                String answer = new String(inFlight.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                JsonNode report = assertDrainedOnceAndExitedCleanly(agent, List.of());
                assertThat(answer).startsWith("HTTP/1.1 408 ");
                assertThat(report.get("trigger").asText()).isEqualTo("signal");
                assertThat(report.get("outcome").asText()).isEqualTo("completed");
                assertThat(agent.lineIndex("received SIGTERM again")).as("the second signal came while stopping")
                        .isGreaterThan(agent.lineIndex("DRAINED -> STOPPING")).isLessThan(agent.lineIndex("STOPPING -> STOPPED"));
            }
        }
    }

    @Test
    void sigtermWhileAPrestopCallWaitsJoinsItsDrainAndTheCallerStillGetsTheReport() throws Exception {
        try (AgentProcess agent = AgentProcess.serve(dir,
                "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 100ms, hooks: [{name: slow, type: sleep, duration: 1500ms, timeout: 3s}]}\n", LOOPBACK_PORT_0)) {
            int port = agent.awaitListening();
            CompletableFuture<HttpResponse<String>> prestop = prestop(port);
            agent.awaitLine("DRAINING");
            agent.sigterm();
            agent.signal("INT"); // a second signal while stopping changes nothing

            HttpResponse<String> response = prestop.get(20, TimeUnit.SECONDS);
            assertThat(response.statusCode()).isEqualTo(200);
            JsonNode answered = Json.MAPPER.readTree(response.body());
            JsonNode logged = assertDrainedOnceAndExitedCleanly(agent, List.of());
            assertThat(answered.get("id").asText()).isEqualTo(logged.get("id").asText());
            assertThat(logged.get("trigger").asText()).isEqualTo("prestop");
            assertThat(logged.get("hooks").get(0).get("outcome").asText()).isEqualTo("completed");
        }
    }

    @Test
    void prestopAndSigtermAtTheSameMomentShareOneDrainAndTheCallerGetsItsReport() throws Exception {
        // Propagation gives the /prestop call time to arrive inside the drain, whichever trigger claims it first.
        try (AgentProcess agent = AgentProcess.serve(dir,
                "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 1s}\n", LOOPBACK_PORT_0)) {
            int port = agent.awaitListening();
            assertThat(get(port, "/readyz").statusCode()).isEqualTo(200); // also warms up the client
            CompletableFuture<HttpResponse<String>> prestop = prestop(port);
            agent.sigterm();

            HttpResponse<String> response = prestop.get(20, TimeUnit.SECONDS);
            JsonNode logged = assertDrainedOnceAndExitedCleanly(agent, List.of());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(Json.MAPPER.readTree(response.body()).get("id").asText()).isEqualTo(logged.get("id").asText());
            assertThat(logged.get("trigger").asText()).isIn("prestop", "signal");
            assertThat(logged.get("outcome").asText()).isEqualTo("completed");
        }
    }

    /**
     * The whole outcome of a signal: exit code 0 (STOPPING → STOPPED), exactly one drain report logged, the drain ended
     * within its deadline (+ {@link #TOLERANCE}), the process gone before the budget ran out, and nothing it started
     * ({@code started}: hook processes seen while it ran) still running.
     *
     * @return the logged report
     */
    private static JsonNode assertDrainedOnceAndExitedCleanly(AgentProcess agent, List<ProcessHandle> started) throws Exception {
        int code = agent.awaitExit(Duration.ofSeconds(30));
        Instant exited = agent.exitSeenAt();
        assertThat(code).as(String.join("\n", agent.stdout()) + agent.stderrText()).isZero();
        List<String> reports = agent.stdout().stream().filter(l -> l.contains("\"drainReport\"")).toList();
        assertThat(reports).as("drain reports logged").hasSize(1);
        JsonNode report = Json.MAPPER.readTree(reports.get(0)).get("drainReport");
        Instant deadline = Instant.parse(report.get("deadline").asText());
        assertThat(Instant.parse(report.get("finishedAt").asText())).as("drain end vs its deadline").isBeforeOrEqualTo(deadline.plus(TOLERANCE));
        assertThat(exited).as("exit vs the end of the budget (deadline + safety margin)").isBeforeOrEqualTo(deadline.plus(SAFETY_MARGIN));
        assertThat(agent.stdout()).anyMatch(l -> l.contains("STOPPING -> STOPPED"));
        assertThat(agent.handle().isAlive()).isFalse();
        assertThat(started).as("processes the agent started").noneMatch(ProcessHandle::isAlive);
        return report;
    }

    /** An exec hook that writes its pid to {@code pidFile}, then runs {@code sleep 2} as a child (2 s, timeout 5 s). */
    private String flushHookConfig(Path pidFile) throws IOException {
        Path script = Files.writeString(dir.resolve("flush.sh"), "echo $$ > '" + pidFile + ".tmp' && mv '" + pidFile + ".tmp' '" + pidFile
                + "'\nsleep 2\n");
        return "drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 100ms, hooks: [{name: flush, type: exec, timeout: 5s, "
                + "command: [sh, '" + script + "']}]}\n";
    }

    private static long awaitHookPid(Path pidFile) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> Files.exists(pidFile));
        try {
            return Long.parseLong(Files.readString(pidFile).trim());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertHookRanToItsEnd(JsonNode report) {
        JsonNode hook = report.get("hooks").get(0);
        assertThat(hook.get("name").asText()).isEqualTo("flush");
        assertThat(hook.get("outcome").asText()).as(hook.toString()).isEqualTo("completed");
        assertThat(hook.get("durationSeconds").asDouble()).as("the signal did not cut the hook short").isGreaterThanOrEqualTo(2.0);
    }

    /** Polls /status until the running drain has finished exactly {@code steps}: the next one is under way. */
    private void awaitFinishedSteps(int port, List<String> steps) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
            JsonNode drain = Json.MAPPER.readTree(get(port, "/status").body()).get("drain");
            if (drain == null || drain.isNull()) {
                return false;
            }
            List<String> finished = new ArrayList<>();
            drain.get("steps").forEach(step -> finished.add(step.get("name").asText()));
            assertThat(finished).as("the drain went past the milestone before it was seen").isSubsetOf(steps);
            return finished.equals(steps);
        });
    }

    private static JsonNode step(JsonNode report, String name) {
        for (JsonNode step : report.get("steps")) {
            if (step.get("name").asText().equals(name)) {
                return step;
            }
        }
        throw new AssertionError("no step " + name + " in " + report);
    }

    private static Duration seconds(JsonNode step) {
        return Duration.ofNanos((long) (step.get("durationSeconds").asDouble() * 1e9));
    }

    private CompletableFuture<HttpResponse<String>> prestop(int port) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/prestop"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
