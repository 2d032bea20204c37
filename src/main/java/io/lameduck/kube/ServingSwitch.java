package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodReadinessGate;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** What the agent flips on its own pod to leave (or rejoin) Service endpoints. */
sealed interface ServingSwitch {
    String strategy();

    /** {@link OwnPod#PODS} or {@link OwnPod#PODS_STATUS}: where the patch goes, and the RBAC it needs. */
    String target();

    /** Why flipping cannot take effect on this pod, if it cannot. */
    default Optional<String> problem(Pod pod) {
        return Optional.empty();
    }

    /** The patch that sets the pod's serving state; empty when the pod is already in it. */
    Optional<String> patchFor(Pod pod, boolean serving);

    /** What the flip did, for reports. */
    String describe(boolean serving);

    /** The pod's labels while it serves: they pick the Services whose EndpointSlices verify a withdrawal. */
    default Map<String, String> servingLabels(Pod pod) {
        return pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
    }

    /** The {@code label} strategy: the Service selectors require {@code label: "true"}. */
    record Label(String label) implements ServingSwitch {
        @Override
        public String strategy() {
            return "label";
        }

        @Override
        public String target() {
            return OwnPod.PODS;
        }

        @Override
        public Optional<String> patchFor(Pod pod, boolean serving) {
            Map<String, String> labels = pod.getMetadata().getLabels();
            String current = labels == null ? null : labels.get(label);
            String wanted = Boolean.toString(serving);
            return wanted.equals(current) ? Optional.empty() : Optional.of(Patches.label(pod, label, wanted));
        }

        @Override
        public String describe(boolean serving) {
            return "label " + label + "=" + serving;
        }

        /** With the label "true": the labels as they were before the flip (or before an earlier maintenance). */
        @Override
        public Map<String, String> servingLabels(Pod pod) {
            Map<String, String> labels = new HashMap<>(ServingSwitch.super.servingLabels(pod));
            labels.put(label, "true");
            return labels;
        }
    }

    /**
     * The {@code readiness-gate} strategy: the pod lists {@code conditionType} in {@code spec.readinessGates}
     * and the agent owns that condition, so the kubelet reports the pod not Ready while it is False.
     */
    record ReadinessGate(String conditionType, Clock clock) implements ServingSwitch {
        @Override
        public String strategy() {
            return "readiness-gate";
        }

        @Override
        public String target() {
            return OwnPod.PODS_STATUS;
        }

        @Override
        public Optional<String> problem(Pod pod) {
            List<PodReadinessGate> gates = pod.getSpec() == null ? List.of() : pod.getSpec().getReadinessGates();
            boolean listed = gates != null && gates.stream().anyMatch(g -> conditionType.equals(g.getConditionType()));
            return listed ? Optional.empty() : Optional.of("pod spec.readinessGates has no conditionType " + conditionType
                    + ", so setting that condition cannot make the pod unready; add the readiness gate to the pod template "
                    + "(the Helm chart's sidecar helper does) or use drain.withdraw.strategy: label");
        }

        @Override
        public Optional<String> patchFor(Pod pod, boolean serving) {
            String wanted = serving ? "True" : "False";
            List<PodCondition> conditions = pod.getStatus() == null ? List.of() : pod.getStatus().getConditions();
            boolean already = conditions != null && conditions.stream()
                    .anyMatch(c -> conditionType.equals(c.getType()) && Objects.equals(wanted, c.getStatus()));
            if (already) {
                return Optional.empty();
            }
            String now = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
            return Optional.of(serving
                    ? Patches.condition(pod, conditionType, wanted, "Serving", "lameduck: the pod serves traffic", now)
                    : Patches.condition(pod, conditionType, wanted, "Withdrawn", "lameduck: the pod is draining or in maintenance", now));
        }

        @Override
        public String describe(boolean serving) {
            return "readiness gate " + conditionType + "=" + (serving ? "True" : "False");
        }
    }
}
