package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ContainerStatus;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Terminations that are not deletions, on the real node with the chart as shipped (readiness-gate, classic sidecar): the
 * kubelet restarts the app container after a failed liveness probe (running its preStop), or the app crashes or is OOM
 * killed (no preStop). The agent withdraws the pod, lets the kill proceed, and puts the pod back once the restarted
 * container is ready; the pod is never deleted and the agent never leaves READY.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class ContainerRestartOnNodeTest {
    /** The example's readiness probe period for the app container (helm/lameduck/templates/example/deployment.yaml). */
    private static final Duration APP_READINESS_PERIOD = Duration.ofSeconds(5);
    private static final Pattern SIGTERM_AT = Pattern.compile("received SIGTERM at (\\S+)");
    private static final Pattern FAILED_AT = Pattern.compile("(?:exiting 3|allocating until killed) at (\\S+)");

    /** What the test's own watch saw of the pod, and when. */
    private record Seen(Instant at, int restarts, boolean appRunning, boolean appReady, boolean podReady) {}

    @Test
    void aLivenessRestartDrainsTheAppBeforeSigtermAndThePodServesAgainEachTime(NodeCluster node) throws Exception {
        String namespace = "restart-liveness";
        ExampleRelease release = ExampleRelease.install(node, namespace, Map.of(
                "example.extraArgs[0]", "-live-for=20s",
                "example.livenessProbe.httpGet.path", "/livez",
                "example.livenessProbe.httpGet.port", "http",
                "example.livenessProbe.periodSeconds", "2",
                "example.livenessProbe.failureThreshold", "2"));
        try {
            release.awaitReadyPods(2);
            String name = release.pods().get(0).getMetadata().getName();
            List<Seen> seen = new CopyOnWriteArrayList<>();
            try (ContainerLog agent = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.AGENT_CONTAINER);
                    Watch ignored = watch(node, namespace, name, seen)) {
                for (int restart = 1; restart <= 2; restart++) {
                    int count = restart;
                    Awaitility.await("restart " + count + " of the app, ready again").atMost(Duration.ofSeconds(90))
                            .pollInterval(Duration.ofMillis(250))
                            .until(() -> seen.stream().anyMatch(s -> s.restarts() >= count && s.podReady()));
                    List<JsonNode> reports = Awaitility.await("restart report " + count).atMost(Duration.ofSeconds(5))
                            .until(() -> DrainReports.triggeredBy(agent, "container-restart"), r -> r.size() >= count);
                    JsonNode report = reports.get(count - 1);
                    assertThat(report.path("outcome").asText()).as(report.toString()).isEqualTo("completed");
                    assertThat(DrainReports.step(report, "withdraw").path("outcome").asText()).as(report.toString()).isEqualTo("completed");

                    String previous = previousLog(node, namespace, name);
                    Matcher sigterm = SIGTERM_AT.matcher(previous);
                    assertThat(sigterm.find()).as("the killed app logged its SIGTERM\n" + previous).isTrue();
                    Instant drained = Instant.parse(report.path("finishedAt").asText());
                    assertThat(Instant.parse(sigterm.group(1))).as("the app gets SIGTERM only after the restart drain finished\n%s\n%s",
                            agent.text(), previous).isAfterOrEqualTo(drained);

                    Seen appReady = firstAfter(seen, s -> s.restarts() >= count && s.appRunning() && s.appReady());
                    Seen podReady = firstAfter(seen, s -> s.restarts() >= count && s.podReady());
                    List<ContainerLog.Line> ends = agent.lines().stream().filter(l -> l.text().contains("restart cycle restart-")
                            && l.text().contains(" ended: ")).toList();
                    assertThat(ends).as(agent.text()).hasSize(count);
                    Instant restored = ends.get(count - 1).time();
                    NodeCluster.log(String.format("liveness restart %d of %s: restart drain %.2fs (withdraw %.2fs, propagate %.2fs: %s);"
                                    + " SIGTERM to the app %d ms after it; app container ready -> pod put back %d ms -> pod Ready %d ms"
                                    + " (%d ms after the restarted container was seen running)",
                            count, name, report.path("durationSeconds").asDouble(), DrainReports.step(report, "withdraw").path("durationSeconds").asDouble(),
                            DrainReports.step(report, "propagate").path("durationSeconds").asDouble(), DrainReports.step(report, "propagate").path("detail").asText(),
                            Duration.between(drained, Instant.parse(sigterm.group(1))).toMillis(),
                            Duration.between(appReady.at(), restored).toMillis(), Duration.between(restored, podReady.at()).toMillis(),
                            Duration.between(firstAfter(seen, s -> s.restarts() >= count && s.appRunning()).at(), podReady.at()).toMillis()));
                    // The agent's part: it follows the pod's status through its watch and puts the pod back at once.
                    assertThat(Duration.between(appReady.at(), restored)).as("the pod put back within 1 s of the app being ready again"
                            + "\n%s\n%s", seen, agent.text()).isLessThanOrEqualTo(Duration.ofSeconds(1));
                    // The whole: the restarted pod serves again within the app's own readiness probe period, as it would without
                    // Lameduck. After the put-back, /readyz answers 200 again and the agent's readiness probe (2 s) sees it;
                    // measured here: Ready 2.9-3.0 s after the put-back.
                    Seen runningAgain = firstAfter(seen, s -> s.restarts() >= count && s.appRunning());
                    assertThat(Duration.between(runningAgain.at(), podReady.at())).as("pod Ready within the app's readiness probe"
                            + " period of the restarted container running\n%s", seen).isLessThanOrEqualTo(APP_READINESS_PERIOD);
                }
                assertThat(DrainReports.triggeredBy(agent, "container-restart")).as("one report per restart").hasSize(2);
                assertThat(agent.lines()).as("the agent never drains for good: the pod is not going away")
                        .noneMatch(l -> l.text().contains("-> DRAINING"));
                assertThat(reasons(node, namespace, name)).as("a Restored Event per restart").filteredOn("Restored"::equals).hasSize(2);
            }
        } finally {
            release.uninstall();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"crash, -exit-after=15s, Error", "OOM kill, -oom-after=15s, OOMKilled"})
    void aContainerThatExitsWithoutAPrestopIsWithdrawnAtOnceAndPutBackWhenReady(String kind, String flag, String reason,
            NodeCluster node) throws Exception {
        String namespace = "restart-" + reason.toLowerCase();
        ExampleRelease release = ExampleRelease.install(node, namespace, Map.of(
                "example.extraArgs[0]", flag, "example.resources.limits.memory", "48Mi"));
        try {
            release.awaitReadyPods(2);
            String name = release.pods().get(0).getMetadata().getName();
            List<Seen> seen = new CopyOnWriteArrayList<>();
            try (ContainerLog agent = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.AGENT_CONTAINER);
                    Watch ignored = watch(node, namespace, name, seen)) {
                Awaitility.await(kind + " of the app, then ready again").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
                        .until(() -> seen.stream().anyMatch(s -> s.restarts() >= 1 && s.podReady()));
                JsonNode report = Awaitility.await("the container-exit report").atMost(Duration.ofSeconds(5))
                        .until(() -> DrainReports.triggeredBy(agent, "container-exit"), r -> !r.isEmpty()).get(0);
                assertThat(DrainReports.step(report, "withdraw").path("outcome").asText()).as(report.toString()).isEqualTo("completed");

                Pod pod = node.admin().pods().inNamespace(namespace).withName(name).get();
                ContainerStatus app = appStatus(pod).orElseThrow();
                assertThat(app.getLastState().getTerminated().getReason()).as(app.toString()).isEqualTo(reason);
                String previous = previousLog(node, namespace, name);
                Matcher failed = FAILED_AT.matcher(previous);
                assertThat(failed.find()).as(previous).isTrue();

                Seen down = firstAfter(seen, s -> !s.appRunning() || s.restarts() >= 1);
                Instant noticed = Instant.parse(report.path("startedAt").asText());
                Seen back = firstAfter(seen, s -> s.restarts() >= 1 && s.podReady());
                NodeCluster.log(String.format("%s of %s: app failed at %s; the API showed it %d ms later; the agent withdrew %d ms after"
                                + " that (withdraw step %.2fs); pod Ready again %d ms after the API showed the failure",
                        kind, name, failed.group(1), Duration.between(Instant.parse(failed.group(1)), down.at()).toMillis(),
                        Duration.between(down.at(), noticed).toMillis(), DrainReports.step(report, "withdraw").path("durationSeconds").asDouble(),
                        Duration.between(down.at(), back.at()).toMillis()));
                assertThat(Duration.between(down.at(), noticed)).as("withdrawing starts within 1 s of the API showing the %s\n%s\n%s",
                        kind, seen, agent.text()).isLessThanOrEqualTo(Duration.ofSeconds(1));
                Awaitility.await("the Restored Event").atMost(Duration.ofSeconds(10))
                        .until(() -> reasons(node, namespace, name).contains("Restored"));
                assertThat(agent.lines()).noneMatch(l -> l.text().contains("-> DRAINING"));
            }
        } finally {
            release.uninstall();
        }
    }

    private static Watch watch(NodeCluster node, String namespace, String name, List<Seen> seen) {
        return node.admin().pods().inNamespace(namespace).withName(name).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Pod pod) {
                Instant now = Instant.now();
                appStatus(pod).ifPresent(app -> seen.add(new Seen(now, app.getRestartCount(), app.getState().getRunning() != null,
                        Boolean.TRUE.equals(app.getReady()), ExampleRelease.condition(pod, "Ready"))));
            }

            @Override
            public void onClose(WatcherException cause) {}
        });
    }

    private static Optional<ContainerStatus> appStatus(Pod pod) {
        return pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null ? Optional.empty()
                : pod.getStatus().getContainerStatuses().stream().filter(c -> ExampleRelease.APP_CONTAINER.equals(c.getName())).findFirst();
    }

    private static Seen firstAfter(List<Seen> seen, java.util.function.Predicate<Seen> test) {
        return seen.stream().filter(test).findFirst().orElseThrow(() -> new AssertionError("never seen in " + seen));
    }

    /** The log of the app container's previous instance (the one the kubelet killed, or that exited). */
    private static String previousLog(NodeCluster node, String namespace, String name) {
        return node.admin().pods().inNamespace(namespace).withName(name).inContainer(ExampleRelease.APP_CONTAINER)
                .terminated().getLog();
    }

    private static List<String> reasons(NodeCluster node, String namespace, String name) {
        return node.admin().v1().events().inNamespace(namespace).list().getItems().stream()
                .filter(e -> name.equals(e.getInvolvedObject().getName())).map(Event::getReason).toList();
    }
}
