package io.lameduck.restart;

import java.util.List;
import java.util.Optional;

/**
 * What one read (or watch event) of the agent's own pod says about its termination.
 *
 * @param deleting the pod has a {@code deletionTimestamp}
 * @param disruption the pod's {@code DisruptionTarget} condition when it is True, as {@code reason: message} (the
 *     kubelet sets it before it kills a pod it evicts or shuts down, without deleting it)
 * @param containers the containers' states
 */
public record PodFacts(boolean deleting, Optional<String> disruption, List<ContainerState> containers) {
    public PodFacts {
        containers = List.copyOf(containers);
    }

    /** Whether the pod as a whole is going away: deleted, or disrupted by the kubelet. A container restart is neither. */
    public boolean terminating() {
        return deleting || disruption.isPresent();
    }
}
