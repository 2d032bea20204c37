package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code kubectl delete pod} on the real node: the kubelet runs the app container's preStop ({@code httpGet
 * /prestop} on the agent), the agent withdraws the pod and drains, and only then does the app get SIGTERM.
 * For every withdrawal strategy, with the agent as a classic and as a native sidecar.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class PodTerminationOnNodeTest {
    private static final Duration GRACE = Duration.ofSeconds(30);
    private static final Pattern ACCESS_FROM = Pattern.compile("GET /prestop (\\d{3}) \\d+ms from ([0-9a-fA-F.:]+)");

    static Stream<Arguments> modes() {
        return Stream.of("readiness-gate", "label", "probe")
                .flatMap(strategy -> Stream.of(Arguments.of(strategy, false), Arguments.of(strategy, true)));
    }

    @ParameterizedTest(name = "{0}, native sidecar {1}")
    @MethodSource("modes")
    void deletingAPodDrainsItBeforeTheAppGetsSigterm(String strategy, boolean nativeSidecar, NodeCluster node) throws Exception {
        String namespace = "term-" + strategy + (nativeSidecar ? "-native" : "");
        ExampleRelease release = ExampleRelease.install(node, namespace,
                Map.of("withdraw.strategy", strategy, "sidecar.native", String.valueOf(nativeSidecar)));
        try {
            release.awaitReadyPods(2);
            Pod pod = release.pods().get(0);
            String name = pod.getMetadata().getName();
            assertWithdrawalHandleIsServing(strategy, pod);
            // helm test of the example install: the app and its agents answer through the Service, and the agents' RBAC check
            // passes for this strategy's config.
            assertThat(node.helm(Duration.ofMinutes(2), "test", ExampleRelease.RELEASE, "--namespace", namespace, "--logs",
                    "--timeout", "90s").ok()).contains("are serving").contains("RBAC works");

            Map<String, Instant> conditionsFalse = new ConcurrentHashMap<>();
            try (ContainerLog agent = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.AGENT_CONTAINER);
                    ContainerLog app = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.APP_CONTAINER);
                    Watch ignored = watchConditions(node, namespace, name, conditionsFalse)) {
                Instant deleted = Instant.now();
                long start = System.nanoTime();
                node.admin().pods().inNamespace(namespace).withName(name).delete();
                Awaitility.await("pod " + name + " gone").atMost(GRACE.plusSeconds(15)).pollInterval(Duration.ofMillis(200))
                        .until(() -> node.admin().pods().inNamespace(namespace).withName(name).get() == null);
                Duration gone = Duration.ofNanos(System.nanoTime() - start);

                JsonNode report = Awaitility.await("the drain report in the agent's log").atMost(Duration.ofSeconds(10))
                        .until(() -> DrainReports.first(agent), Optional::isPresent).orElseThrow();
                assertThat(report.path("outcome").asText()).as(agent.text()).isEqualTo("completed");
                assertThat(report.path("steps").findValuesAsText("name")).as(report.toString())
                        .contains("unready", "withdraw");
                JsonNode withdraw = DrainReports.step(report, "withdraw");
                assertThat(withdraw.path("outcome").asText()).as(report.toString()).isEqualTo("completed");

                ContainerLog.Line prestop = agent.first(t -> t.contains("GET /prestop")).orElseThrow(() ->
                        new AssertionError("the kubelet's preStop never reached the agent\n" + agent.text()));
                Matcher access = ACCESS_FROM.matcher(prestop.text());
                assertThat(access.find()).as(prestop.text()).isTrue();
                assertThat(access.group(1)).as("the agent must accept the kubelet's preStop call: " + prestop.text())
                        .isEqualTo("200");

                Instant drainFinished = Instant.parse(report.path("finishedAt").asText());
                ContainerLog.Line sigterm = app.first(t -> t.contains("SIGTERM")).orElseThrow(() ->
                        new AssertionError("the app never logged its SIGTERM\n" + app.text()));
                assertThat(sigterm.time()).as("the app gets SIGTERM only after the drain finished at %s\n%s\n%s",
                        drainFinished, agent.text(), app.text()).isAfterOrEqualTo(drainFinished);
                assertThat(gone).as("deletion to pod gone, within the grace period").isLessThan(GRACE);

                List<String> reasons = node.admin().v1().events().inNamespace(namespace).list().getItems().stream()
                        .filter(e -> name.equals(e.getInvolvedObject().getName())).map(Event::getReason).toList();
                assertThat(reasons).contains("DrainStarted", "DrainCompleted").doesNotContain("FailedPreStopHook");

                JsonNode seen = report.path("withdrawal");
                NodeCluster.log(String.format("%s native=%s: preStop from %s; trigger %s; drain %.2fs (withdraw %.2fs;"
                                + " deletion -> ready=false seen %s, serving=false seen %s);"
                                + " SIGTERM to the app %d ms after the drain; deletion -> pod gone %.1fs; conditions False after"
                                + " deletion: %s", strategy, nativeSidecar, access.group(2), report.path("trigger").asText(),
                        report.path("durationSeconds").asDouble(), withdraw.path("durationSeconds").asDouble(),
                        sinceDeletion(deleted, seen.path("readyFalseSeenAt")), sinceDeletion(deleted, seen.path("servingFalseSeenAt")),
                        Duration.between(drainFinished, sigterm.time()).toMillis(), gone.toMillis() / 1000.0,
                        sinceDeletion(conditionsFalse, deleted)));
            }
        } finally {
            release.uninstall();
        }
    }

    private static void assertWithdrawalHandleIsServing(String strategy, Pod pod) {
        switch (strategy) {
            case "readiness-gate" -> assertThat(ExampleRelease.condition(pod, "lameduck.io/serving"))
                    .as("the agent set its readiness gate (conditions %s)", ExampleRelease.conditions(pod)).isTrue();
            case "label" -> assertThat(pod.getMetadata().getLabels()).containsEntry("lameduck.io/serving", "true");
            default -> assertThat(ExampleRelease.condition(pod, "Ready")).isTrue();
        }
    }

    /** Records when each pod condition was first seen False (Ready, the readiness gate, ContainersReady). */
    private static Watch watchConditions(NodeCluster node, String namespace, String name, Map<String, Instant> seen) {
        return node.admin().pods().inNamespace(namespace).withName(name).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Pod pod) {
                if (pod.getStatus() == null) {
                    return;
                }
                pod.getStatus().getConditions().stream().filter(c -> "False".equals(c.getStatus()))
                        .forEach(c -> seen.putIfAbsent(c.getType(), Instant.now()));
            }

            @Override
            public void onClose(WatcherException cause) {}
        });
    }

    private static String sinceDeletion(Instant deleted, JsonNode at) {
        return at.isTextual() ? Duration.between(deleted, Instant.parse(at.asText())).toMillis() + " ms" : "never";
    }

    private static String sinceDeletion(Map<String, Instant> seen, Instant deleted) {
        StringBuilder out = new StringBuilder();
        seen.forEach((type, at) -> out.append(type).append(' ').append(Duration.between(deleted, at).toMillis()).append(" ms; "));
        return out.toString();
    }
}
