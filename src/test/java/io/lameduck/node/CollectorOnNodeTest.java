package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fleet collector on the real node, installed by the chart beside its example workload: two rollouts replace every
 * pod twice, the collector is killed (its pod force-deleted: SIGKILL, nothing written on the way out) while the first
 * rollout is under way, and in the end it has counted each deleted pod's termination exactly once, as its metrics, its
 * {@code /terminations} (through the API server's service proxy, as {@code kubectl get --raw} reads it) and
 * {@code lameduck terminations} all show. Then {@code helm test} of this install mode passes, the collector's own test
 * pod included.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class CollectorOnNodeTest {
    private static final String NAMESPACE = "fleet";
    private static final int REPLICAS = 3;
    private static final String COLLECTOR = ExampleRelease.RELEASE + "-lameduck-collector";
    private static final String PROXY = "/api/v1/namespaces/" + NAMESPACE + "/services/http:" + COLLECTOR + ":http/proxy";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyTerminationOfARolloutIsCountedOnceThoughTheCollectorWasKilledInTheMiddle(NodeCluster node) throws Exception {
        ExampleRelease release = ExampleRelease.install(node, NAMESPACE, Map.of(
                "example.replicas", String.valueOf(REPLICAS),
                "example.strategy.rollingUpdate.maxUnavailable", "0",
                "example.strategy.rollingUpdate.maxSurge", "1",
                "collector.enabled", "true"));
        try {
            release.awaitReadyPods(REPLICAS);
            awaitCollectorReady(node);
            Set<String> deleted = new TreeSet<>();

            // Rollout 1, with the collector killed once its first old pod is terminating.
            List<String> old = names(release.pods());
            deleted.addAll(old);
            restart(node);
            await("a pod of rollout 1 terminating").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200))
                    .until(() -> node.admin().pods().inNamespace(NAMESPACE).list().getItems().stream()
                            .anyMatch(p -> old.contains(p.getMetadata().getName()) && p.getMetadata().getDeletionTimestamp() != null));
            String killed = collectorPod(node);
            node.kubectl(Duration.ofSeconds(30), "delete", "pod", killed, "-n", NAMESPACE, "--grace-period=0", "--force").ok();
            NodeCluster.log("collector pod " + killed + " force-deleted mid-rollout");
            awaitRolledOut(node, old);

            // Rollout 2, the new collector running throughout.
            List<String> second = names(release.pods());
            deleted.addAll(second);
            restart(node);
            awaitRolledOut(node, second);
            assertThat(deleted).hasSize(2 * REPLICAS);

            awaitCollectorReady(node);
            await("the collector counted " + deleted.size() + " terminations").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> counted(node) >= deleted.size());
            Thread.sleep(3_000); // a count beyond the deletions would have had time to show
            JsonNode list = JSON.readTree(node.kubectl(Duration.ofSeconds(30), "get", "--raw",
                    PROXY + "/terminations?namespace=" + NAMESPACE + "&workload=" + ExampleRelease.DEPLOYMENT + "&limit=100").ok());
            List<String> pods = new ArrayList<>();
            list.path("terminations").forEach(t -> pods.add(t.path("pod").asText()));
            NodeCluster.log("pods deleted: " + deleted.size() + " " + deleted + "; collector's count: " + counted(node)
                    + "; its terminations: " + pods);
            assertThat(counted(node)).as("lameduck_fleet_terminations_total of the workload").isEqualTo(deleted.size());
            assertThat(pods).as("each deleted pod once").containsExactlyInAnyOrderElementsOf(deleted);
            list.path("terminations").forEach(t -> {
                assertThat(t.path("workload").path("kind").asText()).isEqualTo("Deployment");
                assertThat(t.path("outcome").asText()).as(t.toString()).isEqualTo("completed");
                assertThat(t.path("withdrawalConfirmed").asBoolean()).as(t.toString()).isTrue();
            });

            String table = Command.of(Duration.ofSeconds(60), javaBin(), "-jar", "target/lameduck.jar", "terminations", "-n", NAMESPACE,
                    "-w", ExampleRelease.DEPLOYMENT, "--collector-namespace", NAMESPACE, "--collector-service", COLLECTOR)
                    .withEnv(Map.of("KUBECONFIG", node.kubeconfig().toString())).ok();
            NodeCluster.log("lameduck terminations:\n" + table);
            assertThat(table.lines().filter(l -> l.contains(ExampleRelease.DEPLOYMENT))).hasSize(deleted.size());

            // helm test of this install mode: the collector answers /readyz and lists the newest termination through its
            // Service (besides the example's and the agents' RBAC tests).
            String tested = node.helm(Duration.ofMinutes(3), "test", ExampleRelease.RELEASE, "--namespace", NAMESPACE, "--logs",
                    "--timeout", "120s").ok();
            NodeCluster.log("helm test:\n" + tested);
            assertThat(tested).contains(ExampleRelease.RELEASE + "-lameduck-test-collector")
                    .contains("is ready and lists terminations").contains("\"workload\"").contains(ExampleRelease.DEPLOYMENT)
                    .contains("are serving").contains("RBAC works");
        } finally {
            node.helm(Duration.ofMinutes(2), "uninstall", ExampleRelease.RELEASE, "--namespace", NAMESPACE, "--wait").run();
            release.uninstall();
        }
    }

    private static List<String> names(List<Pod> pods) {
        return pods.stream().map(p -> p.getMetadata().getName()).toList();
    }

    private static void restart(NodeCluster node) {
        node.kubectl(Duration.ofSeconds(30), "rollout", "restart", "deployment/" + ExampleRelease.DEPLOYMENT, "-n", NAMESPACE).ok();
    }

    /** The rollout done and every old pod gone (its drain over, its report Event written). */
    private static void awaitRolledOut(NodeCluster node, List<String> old) {
        node.kubectl(Duration.ofMinutes(3), "rollout", "status", "deployment/" + ExampleRelease.DEPLOYMENT, "-n", NAMESPACE,
                "--timeout=170s").ok();
        await("old pods gone").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(500))
                .until(() -> node.admin().pods().inNamespace(NAMESPACE).list().getItems().stream()
                        .noneMatch(p -> old.contains(p.getMetadata().getName())));
    }

    private static String collectorPod(NodeCluster node) {
        List<Pod> pods = node.admin().pods().inNamespace(NAMESPACE).withLabel("app.kubernetes.io/component", "collector").list().getItems()
                .stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
        assertThat(pods).as("collector pods").hasSize(1);
        return pods.get(0).getMetadata().getName();
    }

    private static void awaitCollectorReady(NodeCluster node) {
        await("the collector Ready").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
                .until(() -> node.admin().pods().inNamespace(NAMESPACE).withLabel("app.kubernetes.io/component", "collector").list()
                        .getItems().stream().anyMatch(p -> p.getMetadata().getDeletionTimestamp() == null && ExampleRelease.condition(p, "Ready")));
    }

    private static final Pattern TERMINATIONS = Pattern.compile(
            "^lameduck_fleet_terminations_total\\{([^}]*)\\} ([0-9.eE+]+)$", Pattern.MULTILINE);

    /** The workload's terminations on the collector's /metrics, read through the API server's service proxy. */
    private static long counted(NodeCluster node) {
        Command.Result metrics = node.kubectl(Duration.ofSeconds(30), "get", "--raw", PROXY + "/metrics").run();
        if (metrics.exitCode() != 0) {
            return -1; // the collector restarting
        }
        double sum = 0;
        Matcher m = TERMINATIONS.matcher(metrics.output());
        while (m.find()) {
            if (m.group(1).contains("namespace=\"" + NAMESPACE + "\"") && m.group(1).contains("workload=\"" + ExampleRelease.DEPLOYMENT + "\"")) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return (long) sum;
    }

    private static String javaBin() {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return Files.isExecutable(java) ? java.toString() : "java";
    }
}
