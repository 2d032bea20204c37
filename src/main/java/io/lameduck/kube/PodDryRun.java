package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;

/**
 * Server-side dry runs of a pod's creation, for {@code lameduck check injection}: the API server runs every admission
 * step on the pod, mutating webhooks included, and answers with the pod as it would have stored it; nothing is
 * stored, and a webhook declared {@code sideEffects: NoneOnDryRun} (the injector) makes no changes elsewhere either.
 * Each call is bounded by its limit ({@link ApiCalls}); its calls are counted on a registry nobody scrapes.
 */
public final class PodDryRun implements AutoCloseable {
    private final KubernetesClient client;
    private final ApiCalls api = ApiCalls.uncounted();

    /** What the API server answered to one dry run. */
    public sealed interface Answer {
        /** Admitted: {@code pod} is what would have been stored, after every mutating admission step. */
        record Admitted(Pod pod) implements Answer {}

        /**
         * Refused with a definite answer that asking again will not change: RBAC or an admission plugin (403), no such
         * namespace (404), an invalid pod (422), ...
         *
         * @param message the API server's own message
         */
        record Refused(int code, String message) implements Answer {}

        /** No answer: the API is unreachable, or did not answer within the limit. Worth asking again. */
        record NoAnswer(String message) implements Answer {}
    }

    public PodDryRun(KubernetesClient client) {
        this.client = client;
    }

    /** Dry-runs the creation of {@code pod} in {@code namespace}, giving up after {@code limit}. */
    public Answer create(String namespace, Pod pod, Duration limit) throws InterruptedException {
        try {
            return new Answer.Admitted(api.call("create", "pods", limit,
                    () -> client.pods().inNamespace(namespace).resource(pod).dryRun().create()));
        } catch (ApiException e) {
            if (e.kind() == ApiException.Kind.UNREACHABLE || e.kind() == ApiException.Kind.TIMEOUT) {
                return new Answer.NoAnswer(e.getMessage());
            }
            // ApiCalls' own message for a 403 speaks of the agent's Role: the API server's says who may not do what.
            if (e.getCause() instanceof KubernetesClientException failure) {
                String message = failure.getStatus() != null && failure.getStatus().getMessage() != null
                        ? failure.getStatus().getMessage() : failure.getMessage();
                return new Answer.Refused(failure.getCode(), message);
            }
            return new Answer.Refused(0, e.getMessage());
        }
    }

    @Override
    public void close() {
        api.close();
    }
}
