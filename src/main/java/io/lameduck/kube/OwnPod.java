package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.PodResource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lameduck.time.Deadline;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and patches the agent's own pod. Patches are strategic merge patches that carry the
 * {@code resourceVersion} they were computed from, so a concurrent change (the kubelet writing status, an
 * operator editing labels) fails with 409 instead of being overwritten; the patch is then recomputed
 * from a fresh read.
 */
final class OwnPod {
    private static final Logger LOG = LoggerFactory.getLogger(OwnPod.class);
    /** The longest any single call may take, even when the caller's deadline is further away. */
    static final Duration CALL_LIMIT = Duration.ofSeconds(5);
    static final String PODS = "pods";
    static final String PODS_STATUS = "pods/status";
    /** The first pause after a conflict; each further conflict doubles it, up to {@link #CONFLICT_BACKOFF_MAX}. */
    static final Duration CONFLICT_BACKOFF_MIN = Duration.ofMillis(20);
    static final Duration CONFLICT_BACKOFF_MAX = Duration.ofMillis(500);

    private final KubernetesClient client;
    private final PodIdentity identity;
    private final ApiCalls api;
    private volatile String lastUid;
    private volatile Workload lastWorkload;

    OwnPod(KubernetesClient client, PodIdentity identity, ApiCalls api) {
        this.client = client;
        this.identity = identity;
        this.api = api;
    }

    PodIdentity identity() {
        return identity;
    }

    /** A fresh read of the pod. */
    Pod get(Duration limit) throws ApiException, InterruptedException {
        Pod pod = api.call("get", PODS, min(limit, CALL_LIMIT), () -> resource().get());
        if (pod == null) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "get pods: pod " + identity
                    + " not found; POD_NAME and POD_NAMESPACE must name the agent's own pod (downward API)", null);
        }
        lastUid = pod.getMetadata().getUid();
        lastWorkload = Workload.of(pod);
        return pod;
    }

    /** The pod's uid as last read; null before the first successful read. */
    String lastUid() {
        return lastUid;
    }

    /** The pod's workload as last read; null before the first successful read. */
    Workload lastWorkload() {
        return lastWorkload;
    }

    /**
     * Reads the pod, asks {@code patchFor} for a strategic merge patch (empty: nothing to change) and applies
     * it to {@code target} ({@link #PODS} or {@link #PODS_STATUS}). On 409 it starts over from a fresh read, after
     * a pause that doubles from {@link #CONFLICT_BACKOFF_MIN} to {@link #CONFLICT_BACKOFF_MAX}, for as long as
     * {@code deadline} allows: a writer that keeps changing the pod (a busy controller, the kubelet writing status)
     * delays the patch, it does not make the withdrawal give up while time remains. {@code patchFor} receives the
     * pod and must put its {@code metadata.resourceVersion} in the patch (see {@link Patches}).
     *
     * @return the pod after the patch (or as read, when nothing had to change)
     */
    Pod patch(String target, Function<Pod, Optional<String>> patchFor, Deadline deadline) throws ApiException, InterruptedException {
        Duration pause = CONFLICT_BACKOFF_MIN;
        for (int attempt = 1; ; attempt++) {
            Pod current = get(deadline.remaining());
            Optional<String> patch = patchFor.apply(current);
            if (patch.isEmpty()) {
                return current;
            }
            try {
                return api.call("patch", target, min(deadline.remaining(), CALL_LIMIT), () -> apply(target, patch.get()));
            } catch (ApiException e) {
                if (e.kind() != ApiException.Kind.CONFLICT) {
                    throw e;
                }
                if (deadline.remaining().compareTo(pause) <= 0) {
                    throw new ApiException(ApiException.Kind.CONFLICT, "patch " + target + " of " + identity
                            + ": still conflicting after " + attempt + " fresh reads, until the time limit", e);
                }
                LOG.debug("patch {} of {}: conflict on attempt {}, retrying from a fresh read in {}", target, identity, attempt, pause);
                TimeUnit.NANOSECONDS.sleep(pause.toNanos());
                pause = min(pause.multipliedBy(2), CONFLICT_BACKOFF_MAX);
            }
        }
    }

    private Pod apply(String target, String patch) {
        PatchContext context = PatchContext.of(PatchType.STRATEGIC_MERGE);
        context.setFieldManager("lameduck");
        return PODS_STATUS.equals(target)
                ? resource().subresource("status").patch(context, patch)
                : resource().patch(context, patch);
    }

    private PodResource resource() {
        return client.pods().inNamespace(identity.namespace()).withName(identity.name());
    }

    static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
