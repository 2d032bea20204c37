package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static io.lameduck.kube.KubeTestSupport.labels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.Agent;
import io.lameduck.LocalAddresses;
import io.lameduck.config.AgentConfig;
import io.lameduck.http.Json;
import io.lameduck.lifecycle.State;
import io.lameduck.lifecycle.Transition;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Deletion of the agent's pod on a real kube-apiserver: the agent watches its pod and drains on deletion, even
 * without any {@code /prestop} call, and lets a {@code /prestop} from any address through once the pod is deleting.
 * There is no real kubelet here: "a caller that is not the node" is this machine's own non-loopback address
 * (not configured as the node IP), which is what the agent sees of the kubelet's preStop on a bridge CNI.
 */
@Tag("kube")
class PodDeletionTest {
    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("deletion");

    private Agent agentFor(String podName, String host, String yaml) {
        AgentConfig config = config("server: {host: " + host + ", port: 0}\n" + yaml);
        PrometheusRegistry registry = new PrometheusRegistry();
        KubeIntegration kube = KubeIntegration.using(config, cluster.agentClient(), cluster.identity(podName), registry);
        return Agent.create(config, registry, Optional.of(kube));
    }

    @Test
    void aDeletionWithoutAnyPrestopCallStillDrainsWithTriggerPodDeletionAndIsReported() throws Exception {
        cluster.runPod("no-prestop", labels("no-prestop", true), List.of(), 60);
        cluster.service("no-prestop", labels("no-prestop", true));
        cluster.runPod("no-prestop-peer", labels("no-prestop", true), List.of(), 60);
        Agent agent = agentFor("no-prestop", "127.0.0.1", "drain: {propagationDelay: 100ms, withdraw: {strategy: label, timeout: 10s}}\n");
        try {
            agent.start();
            assertThat(agent.lifecycle().state()).isEqualTo(State.READY);

            cluster.deletePod("no-prestop", 60); // nobody calls /prestop

            await().atMost(Duration.ofSeconds(20)).until(() -> agent.lifecycle().state() == State.DRAINED);
            assertThat(agent.lifecycle().snapshot().history()).extracting(Transition::to)
                    .containsExactly(State.STARTING, State.READY, State.DRAINING, State.DRAINED);
            JsonNode drain = get(agent, "/status").get("drain");
            assertThat(drain.get("trigger").asText()).isEqualTo("pod-deletion");
            assertThat(drain.get("outcome").asText()).isEqualTo("completed");
            assertThat(drain.get("deadlineSource").asText()).startsWith("pod deletionTimestamp");
            assertThat(drain.get("steps").get(1).get("detail").asText()).contains("confirmed");
            assertThat(cluster.pod("no-prestop").getMetadata().getLabels())
                    .containsEntry("lameduck.io/serving", "false");
        } finally {
            agent.stop();
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cluster.eventReasons("no-prestop"))
                .contains("DrainStarted", "Withdrawn", "DrainCompleted"));
    }

    @Test
    void aPrestopFromANonNodeNonLoopbackAddressIsRefusedAndCountedBeforeDeletionAndAcceptedAfter() throws Exception {
        Optional<InetAddress> stranger = LocalAddresses.nonLoopback();
        assumeTrue(stranger.isPresent(), "this machine has no non-loopback IPv4 address to call from");
        cluster.runPod("outsider", labels("outsider", true), List.of(), 60);
        Agent agent = agentFor("outsider", "0.0.0.0", "drain: {propagationDelay: 100ms, withdraw: {strategy: label, timeout: 5s}}\n");
        try {
            agent.start();

            String refused = request(stranger.get(), agent.port(), "GET", "/prestop");
            assertThat(refused).startsWith("HTTP/1.1 403").contains("this request came from " + stranger.get().getHostAddress())
                    .contains("a pod that is being deleted accepts /prestop from anyone");
            assertThat(agent.lifecycle().state()).isEqualTo(State.READY);
            assertThat(text(agent, "/metrics"))
                    .contains("lameduck_prestop_refused_total 1.0");

            cluster.deletePod("outsider", 60);
            String accepted = request(stranger.get(), agent.port(), "GET", "/prestop");

            assertThat(accepted).startsWith("HTTP/1.1 200").contains("\"outcome\":\"completed\"");
            assertThat(agent.lifecycle().state()).isEqualTo(State.DRAINED);
            assertThat(text(agent, "/metrics"))
                    .contains("lameduck_prestop_refused_total 1.0");
        } finally {
            agent.stop();
        }
    }

    @Test
    void withoutTheWatchAFreshReadTellsThatThePodIsDeleting() throws Exception {
        cluster.runPod("fresh", labels("fresh", true), List.of(), 60);
        try (KubeIntegration kube = KubeIntegration.using(config("label", "5s"), cluster.agentClient(), cluster.identity("fresh"),
                new PrometheusRegistry())) {
            // watchPod() is never called: only a read at request time can know
            assertThat(kube.isDeleting(Duration.ofSeconds(2))).isFalse();

            cluster.deletePod("fresh", 60);

            assertThat(kube.isDeleting(Duration.ofSeconds(2))).isTrue();
        }
    }

    private static JsonNode get(Agent agent, String path) throws Exception {
        return Json.MAPPER.readTree(text(agent, path));
    }

    private static String text(Agent agent, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }


    /** A raw HTTP/1.1 exchange from the local address {@code from} to the agent; the status line, headers and body. */
    static String request(InetAddress from, int port, String method, String path) throws IOException {
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress(from, 0));
            socket.connect(new InetSocketAddress(from, port), 5000);
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            out.write((method + " " + path + " HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
