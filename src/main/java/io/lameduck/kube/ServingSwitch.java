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
import java.util.function.BooleanSupplier;

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
    record ReadinessGate(String conditionType, Clock clock, BooleanSupplier kubeletKill) implements ServingSwitch {
        /** Without a kubelet kill ever known: the gate alone. */
        ReadinessGate(String conditionType, Clock clock) {
            this(conditionType, clock, () -> false);
        }

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

        /**
         * The gate; and when the kubelet is killing the pod without a deletion (its eviction Event), also the pod's
         * {@code Ready} condition False. The kubelet owns {@code Ready} and recomputes it from the gate only when it syncs
         * the pod, which it does not while it kills one, and the readiness probes that would fail {@code /readyz} have
         * stopped: without this the endpoint serves until the containers are dead (seen on the real node). The pod is
         * gone within seconds, so the kubelet's next status write (containers stopped: Ready False) agrees.
         */
        @Override
        public Optional<String> patchFor(Pod pod, boolean serving) {
            String wanted = serving ? "True" : "False";
            boolean alsoReady = !serving && kubeletKill.getAsBoolean();
            if (has(pod, conditionType, wanted) && (!alsoReady || has(pod, "Ready", "False"))) {
                return Optional.empty();
            }
            String now = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
            if (serving) {
                return Optional.of(Patches.condition(pod, conditionType, wanted, "Serving", "lameduck: the pod serves traffic", now));
            }
            Patches.Condition gate = new Patches.Condition(conditionType, wanted, "Withdrawn", "lameduck: the pod is draining or in maintenance");
            return Optional.of(alsoReady
                    ? Patches.conditions(pod, now, gate, new Patches.Condition("Ready", "False", "LameduckKubeletEviction",
                            "lameduck: the kubelet is evicting the pod; it does not recompute Ready while it kills it"))
                    : Patches.conditions(pod, now, gate));
        }

        private static boolean has(Pod pod, String type, String status) {
            List<PodCondition> conditions = pod.getStatus() == null ? List.of() : pod.getStatus().getConditions();
            return conditions != null && conditions.stream().anyMatch(c -> type.equals(c.getType()) && Objects.equals(status, c.getStatus()));
        }

        @Override
        public String describe(boolean serving) {
            return "readiness gate " + conditionType + "=" + (serving ? "True" : "False");
        }
    }
}
