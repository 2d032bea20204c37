package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.lameduck.drain.Cause;
import io.lameduck.restart.ContainerState;
import io.lameduck.restart.PodFacts;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads {@link PodFacts} off a pod: its {@code deletionTimestamp}, a True {@code DisruptionTarget} condition, and the
 * state of every main container and native sidecar (init containers that run to completion are left out: they never
 * serve). Missing fields read as "not known": no status yet means no containers.
 */
final class PodFactsOf {
    static final String DISRUPTION_TARGET = "DisruptionTarget";

    private PodFactsOf() {}

    static PodFacts of(Pod pod) {
        boolean deleting = pod.getMetadata() != null && pod.getMetadata().getDeletionTimestamp() != null;
        if (pod.getStatus() == null) {
            return new PodFacts(deleting, Optional.empty(), List.of());
        }
        Optional<String> disruption = disruption(pod).map(Cause::detail);
        List<ContainerState> containers = new ArrayList<>();
        Optional.ofNullable(pod.getStatus().getContainerStatuses()).orElse(List.of()).forEach(s -> containers.add(state(s)));
        // Native sidecars (init containers with restartPolicy Always) run beside the app; the other init containers have finished.
        Set<String> sidecars = pod.getSpec() == null ? Set.of() : Optional.ofNullable(pod.getSpec().getInitContainers()).orElse(List.of())
                .stream().filter(c -> "Always".equals(c.getRestartPolicy())).map(Container::getName).collect(Collectors.toSet());
        Optional.ofNullable(pod.getStatus().getInitContainerStatuses()).orElse(List.of()).stream()
                .filter(s -> sidecars.contains(s.getName())).forEach(s -> containers.add(state(s)));
        return new PodFacts(deleting, disruption, containers);
    }

    /**
     * The pod's True {@code DisruptionTarget} condition as a cause, {@code <reason>: <message>}; empty when it has none.
     * Controllers set it before they delete a pod (Eviction API, scheduler preemption, taint manager, pod GC); the
     * kubelet's own kills get it only once every container stopped.
     */
    static Optional<Cause> disruption(Pod pod) {
        return pod.getStatus() == null ? Optional.empty() : Optional.ofNullable(pod.getStatus().getConditions()).orElse(List.of()).stream()
                .filter(c -> DISRUPTION_TARGET.equals(c.getType()) && "True".equals(c.getStatus()))
                .findFirst().map(c -> new Cause(Cause.Kind.ofDisruptionReason(c.getReason()), describe(c)));
    }

    private static ContainerState state(ContainerStatus status) {
        boolean running = status.getState() != null && status.getState().getRunning() != null;
        ContainerStateTerminated last = status.getState() != null && status.getState().getTerminated() != null
                ? status.getState().getTerminated()
                : status.getLastState() == null ? null : status.getLastState().getTerminated();
        return new ContainerState(status.getName(), status.getRestartCount() == null ? 0 : status.getRestartCount(), running,
                Boolean.TRUE.equals(status.getReady()), Optional.ofNullable(last).map(PodFactsOf::describe));
    }

    private static String describe(ContainerStateTerminated exit) {
        return (exit.getReason() == null ? "exited" : exit.getReason()) + " (exit " + exit.getExitCode() + ")"
                + (exit.getFinishedAt() == null ? "" : " at " + exit.getFinishedAt());
    }

    /** Unbounded here: {@link Cause} bounds it. */
    private static String describe(PodCondition condition) {
        return (condition.getReason() == null ? "" : condition.getReason())
                + (condition.getMessage() == null || condition.getMessage().isBlank() ? "" : ": " + condition.getMessage());
    }
}
