package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.labels;
import static io.lameduck.testsupport.Slack.TOLERANCE;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.AgentProcess;
import io.lameduck.http.Json;
import io.lameduck.kube.FaultInjectingApiProxy.Fault;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to the packaged agent (a real process) after its listener started and before it became READY, the one
 * start-up milestone a standalone agent passes too fast to hit: here the start-up read of the pod (is it being deleted,
 * is maintenance persisted on it?) is held by {@link FaultInjectingApiProxy} in front of the real kube-apiserver until
 * the signal's drain has begun. The agent drains (its budget from the pod), never becomes READY ({@code /readyz} never
 * 200), and exits 0 within the deadline.
 */
@Tag("kube")
@Tag("process")
class SigtermBeforeReadyTest {
    /** Below the 5 s limit of an API call: the held read must be answered, not time out. */
    private static final Duration LONGEST_HOLD = Duration.ofSeconds(4);

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("sigterm-startup");

    @TempDir
    Path dir;

    @Test
    void sigtermWhileTheStartUpReadOfThePodIsPendingDrainsAndNeverBecomesReady() throws Exception {
        cluster.runPod("app", labels("app", true), List.of(), 20);
        String podPath = "/api/v1/namespaces/" + cluster.namespace() + "/pods/app";
        AtomicInteger podReads = new AtomicInteger();
        CountDownLatch startupReadHeld = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (FaultInjectingApiProxy proxy = new FaultInjectingApiProxy(cluster.adminConfig())) {
            // Held: the second and third plain reads of the pod. The first is connecting's (the proxy forwards it at
            // once, so it is read once: connecting retries only a read the API answers later than 5 s). After the
            // listener started, the start-up state read and the deletion watch's read-before-watching race (the watch
            // opens on a timer thread), so which is first varies; holding both holds the start-up state read.
            proxy.rule((method, path, query) -> {
                if (method.equals("GET") && path.equals(podPath) && (query == null || !query.contains("watch"))) {
                    int read = podReads.incrementAndGet();
                    if (read == 2 || read == 3) {
                        startupReadHeld.countDown();
                        await(release, LONGEST_HOLD);
                    }
                }
                return Fault.FORWARD;
            });
            Path kubeconfig = KubeTestSupport.tokenKubeconfig(dir.resolve("kubeconfig"), proxy.url(),
                    cluster.agentToken("lameduck", rules -> rules));
            Path config = Files.writeString(dir.resolve("lameduck.yaml"), "drain: {budget: 30s, safetyMargin: 1s, propagationDelay: 100ms}\n");
            Map<String, String> env = Map.of("KUBECONFIG", kubeconfig.toString(), "POD_NAME", "app", "POD_NAMESPACE", cluster.namespace(),
                    "LAMEDUCK_SERVER_HOST", "127.0.0.1", "LAMEDUCK_SERVER_PORT", "0");

            try (AgentProcess agent = AgentProcess.start(env, "serve", "--config", config.toString())) {
                int port = agent.awaitListening();
                assertThat(startupReadHeld.await(30, TimeUnit.SECONDS)).as("the start-up read reached the proxy").isTrue();
                HttpClient http = HttpClient.newHttpClient();
                assertThat(Json.MAPPER.readTree(get(http, port, "/status").body()).get("state").asText())
                        .as("the milestone: listener up, not READY yet").isEqualTo("STARTING");
                List<Integer> readiness = new CopyOnWriteArrayList<>();
                AtomicBoolean probing = new AtomicBoolean(true);
                Thread prober = new Thread(() -> {
                    while (probing.get()) {
                        try {
                            readiness.add(get(http, port, "/readyz").statusCode());
                            TimeUnit.MILLISECONDS.sleep(20);
                        } catch (Exception listenerClosed) {
                            return;
                        }
                    }
                }, "readyz-prober");
                prober.start();

                agent.sigterm();
                agent.awaitLine("started by signal");
                release.countDown();

                int code = agent.awaitExit(Duration.ofSeconds(30));
                probing.set(false);
                prober.join(5000);
                assertThat(code).as(String.join("\n", agent.stdout()) + agent.stderrText()).isZero();
                List<String> reports = agent.stdout().stream().filter(l -> l.contains("\"drainReport\"")).toList();
                assertThat(reports).hasSize(1);
                JsonNode report = Json.MAPPER.readTree(reports.get(0)).get("drainReport");
                assertThat(report.get("trigger").asText()).isEqualTo("signal");
                assertThat(report.get("outcome").asText()).isEqualTo("completed");
                assertThat(report.get("deadlineSource").asText()).startsWith("pod terminationGracePeriodSeconds 20.000s");
                Instant deadline = Instant.parse(report.get("deadline").asText());
                assertThat(Instant.parse(report.get("finishedAt").asText())).isBeforeOrEqualTo(deadline.plus(TOLERANCE));
                assertThat(agent.exitSeenAt()).isBeforeOrEqualTo(deadline.plus(Duration.ofSeconds(1)));
                assertThat(readiness).isNotEmpty().doesNotContain(200);
                assertThat(agent.stdout())
                        .anyMatch(l -> l.contains("STARTING -> DRAINING"))
                        .anyMatch(l -> l.contains("a drain began during start-up; not becoming READY"))
                        .noneMatch(l -> l.contains("-> READY"))
                        .noneMatch(l -> l.contains("cannot read pod")) // the held read was answered, not timed out
                        .anyMatch(l -> l.contains("STOPPING -> STOPPED"));
                assertThat(agent.lineIndex("received SIGTERM")).isGreaterThan(agent.lineIndex("accepting connections"));
                assertThat(agent.handle().isAlive()).isFalse();
            }
        } finally {
            release.countDown();
        }
    }

    private static HttpResponse<String> get(HttpClient http, int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void await(CountDownLatch latch, Duration limit) {
        try {
            latch.await(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
