package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.Map;
import java.util.Objects;

/**
 * The workload a pod belongs to, as fleet metrics name it: the Deployment behind a ReplicaSet (whose name is the
 * Deployment's plus {@code -<pod-template-hash>}), else the controlling owner (StatefulSet, DaemonSet, Job, a bare
 * ReplicaSet), else the pod itself ({@code Pod}). Read from the pod alone: the agent may not read ReplicaSets.
 */
public record Workload(String kind, String name) {
    static final String TEMPLATE_HASH = "pod-template-hash";

    public Workload {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
    }

    public static Workload of(Pod pod) {
        String podName = pod.getMetadata().getName();
        OwnerReference controller = pod.getMetadata().getOwnerReferences() == null ? null
                : pod.getMetadata().getOwnerReferences().stream().filter(o -> Boolean.TRUE.equals(o.getController())).findFirst().orElse(null);
        if (controller == null) {
            return new Workload("Pod", podName);
        }
        Map<String, String> labels = pod.getMetadata().getLabels();
        String hash = labels == null ? null : labels.get(TEMPLATE_HASH);
        String owner = controller.getName();
        if ("ReplicaSet".equals(controller.getKind()) && hash != null && owner.endsWith("-" + hash)) {
            return new Workload("Deployment", owner.substring(0, owner.length() - hash.length() - 1));
        }
        return new Workload(controller.getKind(), owner);
    }
}
