package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.lameduck.restart.ContainerState;
import io.lameduck.restart.PodFacts;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Pod statuses shaped as the kubelet v1.34 writes them (kubelet_pods.go convertToAPIContainerStatuses). */
class PodFactsOfTest {
    @Test
    void containersNativeSidecarsAndHowTheyLastExited() {
        Pod pod = new PodBuilder().withNewMetadata().withName("p").endMetadata()
                .withNewSpec()
                .addNewInitContainer().withName("setup").endInitContainer()
                .addNewInitContainer().withName("lameduck").withRestartPolicy("Always").endInitContainer()
                .addNewContainer().withName("app").endContainer()
                .endSpec()
                .withNewStatus()
                .withInitContainerStatuses(
                        new ContainerStatusBuilder().withName("setup").withRestartCount(0).withReady(false)
                                .withNewState().withNewTerminated().withExitCode(0).withReason("Completed").endTerminated().endState().build(),
                        new ContainerStatusBuilder().withName("lameduck").withRestartCount(0).withReady(true)
                                .withNewState().withNewRunning().endRunning().endState().build())
                .withContainerStatuses(new ContainerStatusBuilder().withName("app").withRestartCount(2).withReady(false)
                        .withNewState().withNewWaiting().withReason("CrashLoopBackOff").endWaiting().endState()
                        .withNewLastState().withNewTerminated().withExitCode(137).withReason("OOMKilled")
                        .withFinishedAt("2026-12-05T08:00:00Z").endTerminated().endLastState().build())
                .endStatus().build();

        PodFacts facts = PodFactsOf.of(pod);

        assertThat(facts.terminating()).isFalse();
        assertThat(facts.containers()).containsExactly(
                new ContainerState("app", 2, false, false, Optional.of("OOMKilled (exit 137) at 2026-12-05T08:00:00Z")),
                new ContainerState("lameduck", 0, true, true, Optional.empty()));
    }

    @Test
    void deletionAndTheKubeletsDisruptionTargetMakeThePodTerminating() {
        Pod deleted = new PodBuilder().withNewMetadata().withName("p").withDeletionTimestamp("2026-12-05T08:00:00Z").endMetadata().build();
        assertThat(PodFactsOf.of(deleted)).satisfies(f -> {
            assertThat(f.deleting()).isTrue();
            assertThat(f.terminating()).isTrue();
            assertThat(f.containers()).as("no status yet").isEmpty();
        });

        Pod evicted = new PodBuilder().withNewMetadata().withName("p").endMetadata().withNewStatus()
                .addNewCondition().withType("DisruptionTarget").withStatus("True").withReason("TerminationByKubelet")
                .withMessage("The node was low on resource: memory. " + "x".repeat(500)).endCondition()
                .endStatus().build();
        assertThat(PodFactsOf.of(evicted).disruption()).hasValueSatisfying(why -> assertThat(why)
                .startsWith("TerminationByKubelet: The node was low on resource: memory.").hasSizeLessThan(210));

        Pod stale = new PodBuilder().withNewMetadata().withName("p").endMetadata().withNewStatus()
                .addNewCondition().withType("DisruptionTarget").withStatus("False").endCondition().endStatus().build();
        assertThat(PodFactsOf.of(stale).terminating()).isFalse();
    }
}
