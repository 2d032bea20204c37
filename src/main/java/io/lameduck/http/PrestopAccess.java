package io.lameduck.http;

/**
 * What the admin server needs to decide on a {@code /prestop} from a caller the usual rules refuse (not
 * loopback, not the node IP, no valid token): whether the pod is already being deleted (then anyone may ask it
 * to drain), and where to count a refusal. The wiring builds it from the Kubernetes integration; without one,
 * the pod is never known to be deleting.
 *
 * @param deletion whether the pod is being deleted; may read the API, must answer within a bounded time
 * @param refused called once for every refused {@code /prestop} (the metrics count it)
 */
public record PrestopAccess(PodDeletion deletion, Runnable refused) {
    /** No Kubernetes integration: the pod is never known to be deleting; refusals are not counted. */
    public static final PrestopAccess STANDALONE = new PrestopAccess(() -> false, () -> { });

    /** Whether the agent's pod is being deleted. */
    @FunctionalInterface
    public interface PodDeletion {
        /** True when the pod has a deletionTimestamp (or is gone); false when not, or when it cannot be told in time. */
        boolean isDeleting();
    }
}
