package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A kubelet eviction on the real node, under load: the pod exceeds its {@code emptyDir.sizeLimit} (the agent's own /tmp,
 * 64Mi in the chart), and the kubelet (volumeStatsAggPeriod 5 s in scripts/cluster.sh) evicts it without deleting it:
 * preStop with a 1 s grace, SIGTERM, SIGKILL about 2 s later; phase Failed, reason Evicted.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class EvictionOnNodeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int RATE = 100;
    private static final Duration LOAD = Duration.ofSeconds(75);

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"readiness-gate", "label"})
    void anEvictedPodIsWithdrawnAndReportedWithoutAFailedRequest(String strategy, NodeCluster node) throws Exception {
        String namespace = "evict-" + strategy;
        ExampleRelease release = ExampleRelease.install(node, namespace, Map.of("withdraw.strategy", strategy));
        try {
            release.awaitReadyPods(2);
            String name = release.pods().get(0).getMetadata().getName();
            String url = "http://" + node.admin().services().inNamespace(namespace).withName(ExampleRelease.DEPLOYMENT).get()
                    .getSpec().getClusterIP() + "/";
            try (ContainerLog agent = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.AGENT_CONTAINER);
                    ContainerLog app = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.APP_CONTAINER)) {
                var load = Load.start(node, url, RATE, LOAD, true);
                Thread.sleep(Duration.ofSeconds(5).toMillis());
                node.kubectl(Duration.ofSeconds(60), "exec", "-n", namespace, name, "-c", ExampleRelease.AGENT_CONTAINER, "--",
                        "dd", "if=/dev/zero", "of=/tmp/fill", "bs=1M", "count=80").ok();
                Instant filled = Instant.now();
                Pod evicted = Awaitility.await("pod " + name + " evicted").atMost(LOAD.minusSeconds(15)).pollInterval(Duration.ofMillis(500))
                        .until(() -> node.admin().pods().inNamespace(namespace).withName(name).get(),
                                p -> "Failed".equals(p.getStatus().getPhase()));
                assertThat(evicted.getStatus().getReason()).isEqualTo("Evicted");
                assertThat(evicted.getMetadata().getDeletionTimestamp()).as("a kubelet eviction deletes nothing").isNull();
                Load.Result result = load.get();

                List<Event> events = node.admin().v1().events().inNamespace(namespace).list().getItems().stream()
                        .filter(e -> name.equals(e.getInvolvedObject().getName())).toList();
                List<JsonNode> reports = reports(agent);
                NodeCluster.log(String.format("eviction of %s (%s): evicted %s after the fill; load %s; Events %s; agent reports %s;"
                                + " app: %s", name, strategy, Duration.between(filled, Instant.now()).toSeconds() + " s", result,
                        events.stream().map(e -> e.getReason() + " " + e.getMessage()).toList(),
                        reports.stream().map(r -> r.path("id").asText() + " " + r.path("trigger").asText() + " "
                                + r.path("outcome").asText() + " " + r.path("durationSeconds").asText() + "s steps "
                                + r.path("steps").findValuesAsText("name") + "/" + r.path("steps").findValuesAsText("outcome")
                                + " withdrawal " + r.path("withdrawal")).toList(),
                        app.lines().stream().map(l -> l.time() + " " + l.text()).toList()));
                assertThat(reports).as(agent.text()).isNotEmpty();
                assertThat(result.failed()).as("requests failed during the eviction: " + result + "\n" + agent.text()).isZero();
            }
        } finally {
            release.uninstall();
        }
    }

    private static List<JsonNode> reports(ContainerLog agent) {
        List<JsonNode> reports = new ArrayList<>();
        for (ContainerLog.Line line : agent.lines()) {
            if (line.text().contains("\"drainReport\"")) {
                try {
                    reports.add(JSON.readTree(line.text()).path("drainReport"));
                } catch (Exception e) {
                    throw new AssertionError("not a JSON log line: " + line.text(), e);
                }
            }
        }
        return reports;
    }
}
