package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pod is its Service's only endpoint, and it is deleted while its replacement starts (a Deployment of one replica):
 * there is nothing to move the traffic to until the new pod is Ready. {@code drain.withdraw.lastServingEndpoint} decides
 * whether the agent still withdraws ({@code withdraw}) or leaves the pod serving ({@code keep}), where kube-proxy keeps
 * sending to a terminating but serving endpoint when no ready one is left (KEP-1669). Both are measured under load; the
 * failures are the Service's outage either way, and the numbers are in docs/how-it-works.md (Kubernetes).
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class LastEndpointOnNodeTest {
    private static final int RATE = 100;
    private static final Duration LOAD = Duration.ofSeconds(35);

    @ParameterizedTest(name = "lastServingEndpoint: {0}")
    @ValueSource(strings = {"withdraw", "keep"})
    void theLastEndpointIsWarnedAboutAndKeptOrWithdrawnAsConfigured(String setting, NodeCluster node) throws Exception {
        String namespace = "last-" + setting;
        ExampleRelease release = ExampleRelease.install(node, namespace, Map.of("example.replicas", "1",
                "withdraw.lastServingEndpoint", setting));
        try {
            release.awaitReadyPods(1);
            String name = release.pods().get(0).getMetadata().getName();
            String url = "http://" + node.admin().services().inNamespace(namespace).withName(ExampleRelease.DEPLOYMENT).get()
                    .getSpec().getClusterIP() + "/";
            try (ContainerLog agent = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.AGENT_CONTAINER)) {
                // Without keep-alive: every request is a new connection that kube-proxy routes, so the endpoint's state
                // decides each one (kept connections would ride out the gap on the old pod, whatever the setting).
                // The Service is new: until kube-proxy's next sync its no-endpoints rule refuses connections; Load.start waits
                // until it answers.
                var load = Load.start(node, url, RATE, LOAD, false);
                Thread.sleep(Duration.ofSeconds(5).toMillis());
                node.admin().pods().inNamespace(namespace).withName(name).delete();
                Awaitility.await("pod " + name + " gone, its replacement Ready").atMost(LOAD.minusSeconds(10))
                        .pollInterval(Duration.ofMillis(500))
                        .until(() -> node.admin().pods().inNamespace(namespace).withName(name).get() == null
                                && release.pods().stream().anyMatch(p -> ExampleRelease.condition(p, "Ready")));
                Load.Result result = load.get();
                JsonNode report = Awaitility.await("the drain report").atMost(Duration.ofSeconds(5))
                        .until(() -> DrainReports.first(agent), Optional::isPresent).orElseThrow();
                JsonNode withdraw = DrainReports.step(report, "withdraw");
                NodeCluster.log(String.format("last endpoint, lastServingEndpoint %s: load %s; withdraw step: %s; warnings %s",
                        setting, result, withdraw, report.path("withdrawal").path("warnings")));
                assertThat(report.path("withdrawal").path("warnings").toString()).as(report.toString()).contains("last serving endpoint");
                if (setting.equals("keep")) {
                    assertThat(withdraw.path("detail").asText()).as(report.toString()).contains("not withdrawn");
                } else {
                    assertThat(withdraw.path("detail").asText()).as(report.toString()).doesNotContain("not withdrawn");
                }
            }
        } finally {
            release.uninstall();
        }
    }
}
