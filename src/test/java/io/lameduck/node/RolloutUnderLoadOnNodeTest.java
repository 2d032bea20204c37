package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A smoke test of the headline claim on the real node: constant-rate open-loop load through the Services'
 * ClusterIPs (kube-proxy, conntrack, keep-alive on and off) while {@code kubectl rollout restart} replaces every
 * pod. The chart's example (demo app + Lameduck) must fail no request; the same app without any preStop, rolled
 * in the same run, must fail some — proof that the harness sees drops. Benchmarks with many terminations and
 * the usual alternatives are scripts/bench.sh's job, not this test's.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class RolloutUnderLoadOnNodeTest {
    private static final String NAMESPACE = "rollout";
    private static final int REPLICAS = 3;
    private static final int RATE = 40;
    private static final Duration LOAD = Duration.ofSeconds(75);

    @Test
    void rolloutDropsNoRequestWithLameduckWhileTheSameAppWithoutPreStopDropsSome(NodeCluster node) throws Exception {
        ExampleRelease release = ExampleRelease.install(node, NAMESPACE, Map.of(
                "example.replicas", String.valueOf(REPLICAS),
                "example.strategy.rollingUpdate.maxUnavailable", "0",
                "example.strategy.rollingUpdate.maxSurge", "1"));
        try {
            createBaseline(node, node.image("demo"));
            release.awaitReadyPods(REPLICAS);
            node.kubectl(Duration.ofMinutes(2), "rollout", "status", "deployment/baseline", "-n", NAMESPACE, "--timeout=100s").ok();
            String lameduckUrl = "http://" + clusterIp(node, ExampleRelease.DEPLOYMENT) + "/";
            String baselineUrl = "http://" + clusterIp(node, "baseline") + ":8080/";
            // Load.start waits until each Service answers: kube-proxy syncs them up to a second after the pods are Ready.

            var withKeepAlive = Load.start(node, lameduckUrl, RATE, LOAD, true);
            var withoutKeepAlive = Load.start(node, lameduckUrl, RATE, LOAD, false);
            var baselineKeepAlive = Load.start(node, baselineUrl, RATE, LOAD, true);
            var baselineNoKeepAlive = Load.start(node, baselineUrl, RATE, LOAD, false);
            // The old pods' agents, followed before they go: their drain reports say when traffic really stopped.
            List<ContainerLog> agents = release.pods().stream().map(p -> ContainerLog.follow(node.admin(), NAMESPACE,
                    p.getMetadata().getName(), ExampleRelease.AGENT_CONTAINER)).toList();
            Thread.sleep(Duration.ofSeconds(5).toMillis()); // load flowing before the first pod goes
            long start = System.nanoTime();
            node.kubectl(Duration.ofSeconds(30), "rollout", "restart", "deployment/" + ExampleRelease.DEPLOYMENT,
                    "deployment/baseline", "-n", NAMESPACE).ok();
            node.kubectl(Duration.ofMinutes(2), "rollout", "status", "deployment/" + ExampleRelease.DEPLOYMENT,
                    "-n", NAMESPACE, "--timeout=110s").ok();
            node.kubectl(Duration.ofMinutes(2), "rollout", "status", "deployment/baseline", "-n", NAMESPACE, "--timeout=60s").ok();
            // Old pods still terminating carry the last of their requests: the load must outlast them.
            org.awaitility.Awaitility.await("old pods gone").atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofMillis(500))
                    .until(() -> node.admin().pods().inNamespace(NAMESPACE).list().getItems().stream()
                            .noneMatch(p -> p.getMetadata().getDeletionTimestamp() != null));
            Duration rollout = Duration.ofNanos(System.nanoTime() - start);
            assertThat(rollout.plusSeconds(5)).as("the load must cover the whole rollout").isLessThan(LOAD);

            Load.Result lameduck = withKeepAlive.get();
            Load.Result lameduckNoKa = withoutKeepAlive.get();
            Load.Result baseline = baselineKeepAlive.get();
            Load.Result baselineNoKa = baselineNoKeepAlive.get();
            NodeCluster.log("rollout of " + REPLICAS + " pods in " + rollout.toSeconds() + " s; lameduck keep-alive: " + lameduck
                    + "; lameduck no keep-alive: " + lameduckNoKa + "; no preStop keep-alive: " + baseline
                    + "; no preStop no keep-alive: " + baselineNoKa);
            agents.forEach(agent -> NodeCluster.log("drained under load: " + agent.drainSummary()));
            List<JsonNode> traffic = agents.stream().flatMap(agent -> agent.drainReport().stream()).map(r -> r.path("traffic")).toList();
            agents.forEach(ContainerLog::close);
            // Nothing but the app and the agent listens in these pods, so every drain counts the app's connections by the
            // kernel's count too; the clients without keep-alive close first at least some of the time, so across the
            // drains some connections only that count showed.
            assertThat(traffic).as("drain reports followed in the old pods' logs").isNotEmpty();
            assertThat(traffic).allSatisfy(t -> assertThat(t.has("unseenConnections")).as("kernel's count in use: %s", t).isTrue());
            assertThat(traffic.stream().mapToLong(t -> t.path("unseenConnections").asLong()).sum())
                    .as("connections only the kernel's count showed, over the drains: %s", traffic).isPositive();
            assertThat(lameduck.failed()).as("with Lameduck, keep-alive: " + lameduck).isZero();
            assertThat(lameduckNoKa.failed()).as("with Lameduck, no keep-alive: " + lameduckNoKa).isZero();
            assertThat(baseline.failed() + baselineNoKa.failed())
                    .as("the same app without preStop must drop some (else this harness cannot see drops): %s / %s",
                            baseline, baselineNoKa).isPositive();
        } finally {
            release.uninstall();
        }
    }

    private static String clusterIp(NodeCluster node, String service) {
        return node.admin().services().inNamespace(NAMESPACE).withName(service).get().getSpec().getClusterIP();
    }

    /** The demo app alone: no sidecar, no preStop; it stops accepting at SIGTERM like most apps. */
    private static void createBaseline(NodeCluster node, String image) {
        Map<String, String> labels = Map.of("app", "baseline");
        node.admin().apps().deployments().inNamespace(NAMESPACE).resource(new DeploymentBuilder()
                .withNewMetadata().withName("baseline").endMetadata()
                .withNewSpec().withReplicas(REPLICAS)
                .withNewSelector().withMatchLabels(labels).endSelector()
                .withNewStrategy().withType("RollingUpdate").withNewRollingUpdate()
                .withMaxUnavailable(new IntOrString(0)).withMaxSurge(new IntOrString(1)).endRollingUpdate().endStrategy()
                .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata()
                .withNewSpec().withTerminationGracePeriodSeconds(30L)
                .addNewContainer().withName("app").withImage(image).withImagePullPolicy("Never")
                .addNewPort().withName("http").withContainerPort(8080).endPort()
                .withNewReadinessProbe().withNewHttpGet().withPath("/").withPort(new IntOrString("http")).endHttpGet()
                .withPeriodSeconds(1).endReadinessProbe()
                .endContainer().endSpec().endTemplate().endSpec().build()).create();
        node.admin().services().inNamespace(NAMESPACE).resource(new ServiceBuilder()
                .withNewMetadata().withName("baseline").endMetadata()
                .withNewSpec().withSelector(labels).addNewPort().withName("http").withPort(8080)
                .withTargetPort(new IntOrString("http")).endPort().endSpec().build()).create();
    }
}
