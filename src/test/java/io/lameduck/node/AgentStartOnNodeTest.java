package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatus;
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
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The agent's start on the real kubelet, with the readiness gate (the chart's default). The agent listens before it
 * connects to the Kubernetes API, and on its first run in a pod its {@code /readyz} passes while it starts, so its
 * container is ready while it connects: the pod must still not be Ready until the agent sets the gate. After a
 * restart of the agent's container the gate may be True from the run before, so the restarted agent's {@code /readyz}
 * must fail until it is READY. To hold the agent in STARTING long enough to watch, its API address points nowhere
 * (it retries its first read for 20 s, then runs standalone, where it never sets the gate).
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class AgentStartOnNodeTest {
    /** In the Service CIDR, no Service: nothing answers there. */
    private static final String NOWHERE = "10.96.0.250";

    @Test
    void theContainerIsReadyWhileTheFirstRunStartsThePodOnlyWithTheGateAndARestartedAgentOnlyWhenReady(NodeCluster node)
            throws Exception {
        String namespace = "agent-start";
        ExampleRelease release = ExampleRelease.installWithoutWaiting(node, namespace, Map.of(
                "example.replicas", "1",
                "sidecar.extraEnv[0].name", "KUBERNETES_SERVICE_HOST", "sidecar.extraEnv[0].value", NOWHERE));
        List<String> podReady = new CopyOnWriteArrayList<>();
        try {
            Awaitility.await("the example's pod").atMost(Duration.ofSeconds(60)).until(() -> !release.pods().isEmpty());
            String name = release.pods().get(0).getMetadata().getName();
            try (Watch ignored = watchPodReady(node, namespace, name, podReady)) {
                Awaitility.await("the agent's container ready on its first run").atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(100)).until(() -> agentReady(pod(node, namespace, name)));
                String firstRun = agentLog(node, namespace, name);
                assertThat(firstRun).contains("/readyz passes before READY: the first run of the agent in this pod");
                assertThat(firstRun).as("still connecting to the API at " + NOWHERE).doesNotContain("-> READY");
                Pod pod = pod(node, namespace, name);
                assertThat(ExampleRelease.condition(pod, "lameduck.io/serving")).as("gate").isFalse();

                node.kubectl(Duration.ofSeconds(30), "exec", "-n", namespace, name, "-c", ExampleRelease.AGENT_CONTAINER, "--",
                        "bash", "-c", "for p in /proc/[0-9]*; do case \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" in java*)"
                                + " kill -9 ${p#/proc/};; esac; done").run();
                Awaitility.await("the agent's container restarted").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                        .until(() -> agentStatus(pod(node, namespace, name)).filter(s -> s.getRestartCount() >= 1
                                && s.getState().getRunning() != null).isPresent());
                // The restarted agent retries its first read for 20 s: for 10 s of it, its container must not be ready.
                Instant until = Instant.now().plusSeconds(10);
                while (Instant.now().isBefore(until)) {
                    String log = agentLog(node, namespace, name);
                    if (log.contains("-> READY")) {
                        break; // READY: its /readyz passes from now on
                    }
                    assertThat(agentReady(pod(node, namespace, name))).as("restarted agent's container ready before READY:\n" + log)
                            .isFalse();
                    Thread.sleep(250);
                }
                assertThat(agentLog(node, namespace, name)).contains("/readyz fails before READY: the agent ran in this pod before");
                assertThat(podReady).as("the pod Ready while its gate was never set").isEmpty();
                NodeCluster.log("agent start: first run ready while STARTING, pod not Ready; restarted agent unready until READY");
            }
        } finally {
            release.uninstall();
        }
    }

    private static Pod pod(NodeCluster node, String namespace, String name) {
        return node.admin().pods().inNamespace(namespace).withName(name).get();
    }

    private static Optional<ContainerStatus> agentStatus(Pod pod) {
        return pod == null || pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null ? Optional.empty()
                : pod.getStatus().getContainerStatuses().stream().filter(s -> ExampleRelease.AGENT_CONTAINER.equals(s.getName())).findFirst();
    }

    private static boolean agentReady(Pod pod) {
        return agentStatus(pod).map(s -> Boolean.TRUE.equals(s.getReady())).orElse(false);
    }

    /** The current run's log (after a restart: the restarted agent's). */
    private static String agentLog(NodeCluster node, String namespace, String name) {
        return node.admin().pods().inNamespace(namespace).withName(name).inContainer(ExampleRelease.AGENT_CONTAINER).getLog();
    }

    private static Watch watchPodReady(NodeCluster node, String namespace, String name, List<String> ready) {
        return node.admin().pods().inNamespace(namespace).withName(name).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Pod pod) {
                if (pod.getStatus() != null && pod.getStatus().getConditions() != null && ExampleRelease.condition(pod, "Ready")) {
                    ready.add(Instant.now() + " " + ExampleRelease.conditions(pod));
                }
            }

            @Override
            public void onClose(WatcherException cause) {}
        });
    }
}
