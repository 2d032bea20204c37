package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The agent's process killed ({@code kill -9}) in the middle of a drain of a pod being deleted, on the real kubelet.
 * What the kubelet does then is the point: it does not restart containers of a terminating pod (1.34; sidecar
 * restarts during termination are KEP-4438, alpha later), so the agent does not come back; the app's preStop call
 * breaks and the kubelet goes on to SIGTERM the app. What must hold: the withdrawal made before the kill stays (the
 * pod is never Ready again: no traffic comes back to it) and the pod is gone within its grace period.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class AgentKilledMidDrainOnNodeTest {
    private static final Duration GRACE = Duration.ofSeconds(30);

    @ParameterizedTest(name = "native sidecar {0}")
    @ValueSource(booleans = {false, true})
    void agentKilledMidDrainNeverLetsThePodBackIntoService(boolean nativeSidecar, NodeCluster node) throws Exception {
        String namespace = "killed" + (nativeSidecar ? "-native" : "");
        ExampleRelease release = ExampleRelease.install(node, namespace, Map.of(
                "sidecar.native", String.valueOf(nativeSidecar),
                // A drain long enough to kill the agent in the middle of it.
                "config.drain.hooks[0].name", "hold", "config.drain.hooks[0].type", "sleep",
                "config.drain.hooks[0].priority", "10", "config.drain.hooks[0].timeout", "20s",
                "config.drain.hooks[0].duration", "15s"));
        try {
            release.awaitReadyPods(2);
            String name = release.pods().get(0).getMetadata().getName();
            List<Instant> readyAgain = new CopyOnWriteArrayList<>();
            try (ContainerLog agent = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.AGENT_CONTAINER);
                    ContainerLog app = ContainerLog.follow(node.admin(), namespace, name, ExampleRelease.APP_CONTAINER)) {
                long start = System.nanoTime();
                node.admin().pods().inNamespace(namespace).withName(name).delete();
                Awaitility.await("the agent draining").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                        .until(() -> agent.first(t -> t.contains("READY -> DRAINING")).isPresent());
                Thread.sleep(Duration.ofSeconds(3).toMillis()); // withdrawn and well into the 15 s hook
                Pod before = node.admin().pods().inNamespace(namespace).withName(name).get();
                assertThat(ExampleRelease.condition(before, "Ready")).as("withdrawn before the kill").isFalse();
                Instant killedAt = Instant.now();
                node.kubectl(Duration.ofSeconds(30), "exec", "-n", namespace, name, "-c", ExampleRelease.AGENT_CONTAINER, "--",
                        "bash", "-c", "for p in /proc/[0-9]*; do case \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" in java*)"
                                + " kill -9 ${p#/proc/};; esac; done").run();
                try (Watch ignored = watchReady(node, namespace, name, readyAgain)) {
                    int restarts = 0;
                    while (node.admin().pods().inNamespace(namespace).withName(name).get() != null
                            && Duration.ofNanos(System.nanoTime() - start).compareTo(GRACE.plusSeconds(15)) < 0) {
                        Pod pod = node.admin().pods().inNamespace(namespace).withName(name).get();
                        if (pod != null) {
                            restarts = Math.max(restarts, agentRestarts(pod));
                        }
                        Thread.sleep(200);
                    }
                    Duration gone = Duration.ofNanos(System.nanoTime() - start);
                    assertThat(node.admin().pods().inNamespace(namespace).withName(name).get()).as("pod gone").isNull();
                    assertThat(gone).as("deletion to pod gone").isLessThan(GRACE.plusSeconds(5));
                    assertThat(readyAgain).as("the pod must never be Ready again after its agent died mid-drain").isEmpty();
                    Instant sigterm = app.first(t -> t.contains("SIGTERM")).map(ContainerLog.Line::time).orElse(null);
                    List<String> reasons = node.admin().v1().events().inNamespace(namespace).list().getItems().stream()
                            .filter(e -> name.equals(e.getInvolvedObject().getName())).map(Event::getReason).toList();
                    NodeCluster.log(String.format("agent killed mid-drain (native=%s): agent restarts seen %d; app SIGTERM %s"
                                    + " after the kill; pod gone %.1fs after deletion; events %s", nativeSidecar, restarts,
                            sigterm == null ? "never logged" : Duration.between(killedAt, sigterm).toMillis() + " ms",
                            gone.toMillis() / 1000.0, reasons));
                }
            }
        } finally {
            release.uninstall();
        }
    }

    private static int agentRestarts(Pod pod) {
        return Stream.concat(pod.getStatus().getContainerStatuses().stream(), pod.getStatus().getInitContainerStatuses().stream())
                .filter(s -> ExampleRelease.AGENT_CONTAINER.equals(s.getName()))
                .mapToInt(ContainerStatus::getRestartCount).max().orElse(0);
    }

    private static Watch watchReady(NodeCluster node, String namespace, String name, List<Instant> readyAgain) {
        return node.admin().pods().inNamespace(namespace).withName(name).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Pod pod) {
                if (pod.getStatus() != null && ExampleRelease.condition(pod, "Ready")) {
                    readyAgain.add(Instant.now());
                }
            }

            @Override
            public void onClose(WatcherException cause) {}
        });
    }
}
