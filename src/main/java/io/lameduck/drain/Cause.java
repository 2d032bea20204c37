package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * Who is taking the pod away, when the pod itself says so at the drain's start. The {@link Trigger} says how the agent
 * heard of the drain (a preStop call, SIGTERM, the deletion watch); the kubelet evicts or shuts a node down through the
 * very same preStop and SIGTERM, so the trigger alone cannot tell an eviction from a rollout. The cause is a separate
 * fact rather than more triggers because it is learnt later (at the budget read, one read of the pod after the trigger)
 * and is orthogonal to it: an eviction arrives as {@code prestop} or {@code signal}, whichever comes first.
 *
 * @param kind bounded, a metric label
 * @param detail the kubelet's Event ({@code Evicted: <message>}) or the {@code DisruptionTarget} condition
 *     ({@code <reason>: <message>}), as read, at most {@link #MAX_DETAIL} characters
 */
public record Cause(Kind kind, String detail) {
    /** Bounds what an Event's or a condition's text adds to reports, log lines and Events. */
    public static final int MAX_DETAIL = 200;

    public Cause {
        detail = detail == null ? "" : detail.strip();
        detail = detail.length() <= MAX_DETAIL ? detail : detail.substring(0, MAX_DETAIL) + "...";
    }

    /** One line for logs and Kubernetes Events: {@code kubelet-eviction: Evicted: Usage of EmptyDir volume ...}. */
    @Override
    public String toString() {
        return detail.isEmpty() ? kind.label() : kind.label() + ": " + detail;
    }

    /**
     * The kinds a cause can be: the kubelet's eviction, seen by its Event (its {@code DisruptionTarget} reaches the API
     * only once every container stopped, too late for the drain), and the reasons of a True {@code DisruptionTarget}
     * condition (Kubernetes v1.34 {@code PodReason*}), with one kind for a reason this version does not know, so the label
     * set stays bounded whatever a condition says.
     */
    public enum Kind {
        /** The kubelet's {@code Evicted} Event: node pressure, an {@code emptyDir.sizeLimit}, an ephemeral-storage limit. */
        KUBELET_EVICTION("kubelet-eviction", null),
        /** {@code TerminationByKubelet}: graceful node shutdown, the kubelet's node-pressure eviction or critical-pod preemption. */
        TERMINATION_BY_KUBELET("termination-by-kubelet", "TerminationByKubelet"),
        /** {@code PreemptionByScheduler}: the scheduler deletes the pod to make room for one of higher priority. */
        PREEMPTION_BY_SCHEDULER("preemption-by-scheduler", "PreemptionByScheduler"),
        /** {@code EvictionByEvictionAPI}: the Eviction API ({@code kubectl drain}, an autoscaler), which deletes the pod. */
        EVICTION_BY_EVICTION_API("eviction-by-eviction-api", "EvictionByEvictionAPI"),
        /** {@code DeletionByTaintManager}: a {@code NoExecute} taint the pod does not tolerate. */
        DELETION_BY_TAINT_MANAGER("deletion-by-taint-manager", "DeletionByTaintManager"),
        /** {@code DeletionByPodGC}: the pod garbage collector (e.g. the pod's node is gone). */
        DELETION_BY_POD_GC("deletion-by-pod-gc", "DeletionByPodGC"),
        /** A {@code DisruptionTarget} reason not listed here (a newer Kubernetes, another controller): the detail has it. */
        OTHER_DISRUPTION("other-disruption", null);

        private final String label;
        private final String reason;

        Kind(String label, String reason) {
            this.label = label;
            this.reason = reason;
        }

        /** The kind of a True {@code DisruptionTarget} condition with this reason; {@link #OTHER_DISRUPTION} for any other. */
        public static Kind ofDisruptionReason(String reason) {
            return Arrays.stream(values()).filter(k -> k.reason != null && k.reason.equals(reason)).findFirst().orElse(OTHER_DISRUPTION);
        }

        @JsonValue
        public String label() {
            return label;
        }
    }
}
