package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A kubelet eviction on the real node, under load (100 requests/s, each on a new connection): the pod exceeds its {@code emptyDir.sizeLimit} (the agent's own /tmp,
 * 64Mi in the chart), and the kubelet (volumeStatsAggPeriod 5 s in scripts/cluster.sh) evicts it without deleting it:
 * preStop with a 1 s grace, SIGTERM, SIGKILL about 2 s later; phase Failed, reason Evicted, long after.
 *
 * <p>The app keeps accepting for 1 s after its SIGTERM ({@code -accept-after-sigterm}), as docs/how-it-works.md ("What
 * the app must do on SIGTERM") asks of apps for kubelet evictions: the kubelet cuts the preStop to 1 s whatever the
 * agent does, while kube-proxy applies the withdrawal up to its 1 s minimum sync period after the EndpointSlice
 * changed. With an app that stopped accepting at SIGTERM, 1 of 10 fresh-clone runs failed 5 of 6,000 requests
 * (refused): the withdrawal was on the EndpointSlice 0.15 s after the agent's SIGTERM and the app's SIGTERM came 0.7 s
 * later, before kube-proxy's next sync.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class EvictionOnNodeTest {
    private static final int RATE = 100;
    private static final Duration LOAD = Duration.ofSeconds(60);
    /** The kubelet measures emptyDir usage every 5-10 s (volumeStatsAggPeriod 5 s) and evicts at its next 10 s pass. */
    private static final Duration EVICTION_WAIT = Duration.ofSeconds(40);

    /**
     * With the chart's default strategy, readiness-gate: the harder one, since the kubelet recomputes Ready neither from the
     * gate nor from probes while it kills the pod. The label strategy (the EndpointSlice controller follows the label, no
     * kubelet involved) was measured once the same way: 0 of 7,500 failed, withdrawn 0.14 s after the SIGTERM.
     */
    @Test
    void anEvictedPodIsWithdrawnAndReportedWithoutAFailedRequest(NodeCluster node) throws Exception {
        String strategy = "readiness-gate";
        String namespace = "evict-" + strategy;
        ExampleRelease release = ExampleRelease.install(node, namespace, Map.of("withdraw.strategy", strategy,
                "example.extraArgs[0]", "-accept-after-sigterm=1s"));
        try {
            release.awaitReadyPods(2);
            String name = release.pods().get(0).getMetadata().getName();
            String url = "http://" + node.admin().services().inNamespace(namespace).withName(ExampleRelease.DEPLOYMENT).get()
                    .getSpec().getClusterIP() + "/";
            try (ContainerLog agent = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.AGENT_CONTAINER);
                    ContainerLog app = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.APP_CONTAINER)) {
                // Without keep-alive: every request is a new connection kube-proxy routes, so the evicted pod gets its share
                // until it is withdrawn (with keep-alive, the load's few connections may all sit on the other pod).
                // The Service is new: until kube-proxy's next sync its no-endpoints rule refuses connections (CI saw the first
                // 0.2 s of the load refused, 21 of 6000, 11 s before the eviction); Load.start waits until it answers.
                Instant loadEnds = Instant.now().plus(LOAD);
                var load = Load.start(node, url, RATE, LOAD, false);
                Thread.sleep(Duration.ofSeconds(5).toMillis());
                node.kubectl(Duration.ofSeconds(60), "exec", "-n", namespace, name, "-c", ExampleRelease.AGENT_CONTAINER, "--",
                        "dd", "if=/dev/zero", "of=/tmp/fill", "bs=1M", "count=80").ok();
                Instant filled = Instant.now();
                // The kubelet's Event comes before the kill; the pod's status (phase Failed) only once the kubelet has cleaned
                // up after it, which took it another 90 s here.
                List<Event> events = Awaitility.await("the kubelet evicting " + name).atMost(EVICTION_WAIT).pollInterval(Duration.ofMillis(500))
                        .until(() -> node.admin().v1().events().inNamespace(namespace).list().getItems().stream()
                                .filter(e -> name.equals(e.getInvolvedObject().getName())).toList(),
                                list -> list.stream().anyMatch(e -> "Evicted".equals(e.getReason())));
                Instant evicted = Instant.now();
                ContainerLog.Line sigterm = Awaitility.await("the app's SIGTERM").atMost(Duration.ofSeconds(10))
                        .until(() -> app.first(t -> t.contains("received SIGTERM")), Optional::isPresent).orElseThrow();
                assertThat(node.admin().pods().inNamespace(namespace).withName(name).get().getMetadata().getDeletionTimestamp())
                        .as("a kubelet eviction deletes nothing").isNull();
                assertThat(sigterm.time().plusSeconds(5)).as("the load must outlast the eviction").isBefore(loadEnds);
                Load.Result result = load.get();
                List<JsonNode> reports = DrainReports.in(agent);
                NodeCluster.log(String.format("eviction of %s (%s): the kubelet's Evicted Event %d s after the fill; load %s; Events %s;"
                                + " agent reports %s; app: %s", name, strategy, Duration.between(filled, evicted).toSeconds(), result,
                        events.stream().map(e -> e.getReason() + " " + e.getMessage()).toList(),
                        reports.stream().map(r -> r.path("id").asText() + " " + r.path("trigger").asText() + " "
                                + r.path("outcome").asText() + " " + r.path("durationSeconds").asText() + "s steps "
                                + r.path("steps").findValuesAsText("name") + "/" + r.path("steps").findValuesAsText("outcome")
                                + " withdrawal " + r.path("withdrawal")).toList(),
                        app.lines().stream().map(l -> l.time() + " " + l.text()).toList()));
                assertThat(reports).as("the drain report, written before the kubelet's SIGKILL\n" + agent.text())
                        .anySatisfy(report -> assertThat(report.path("deadlineSource").asText()).contains("kubelet eviction (Event Evicted"));
                assertThat(app.first(t -> t.matches(".*stopped after [1-9][0-9]* requests.*"))).as("the evicted pod served part of the load\n"
                        + app.text()).isPresent();
                assertThat(result.failed()).as("requests failed during the eviction: " + result + "\n" + agent.text()).isZero();
            }
        } finally {
            release.uninstall();
        }
    }
}
