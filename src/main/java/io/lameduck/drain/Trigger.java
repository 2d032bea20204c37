package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonValue;

/** What started a drain. */
public enum Trigger {
    /** The application container's preStop hook called {@code /prestop}. */
    PRESTOP("prestop"),
    /** SIGTERM or SIGINT to the agent. */
    SIGNAL("signal"),
    /** {@code lameduck prestop} from a shell or an exec hook. */
    CLI("cli"),
    /** The agent found its pod being deleted: the deletion watch, or a read at start-up (e.g. after a restart). */
    POD_DELETION("pod-deletion"),
    /**
     * {@code /prestop} on a pod that is not being deleted: the kubelet is about to restart one of its containers (a
     * failed liveness or startup probe). The drain withdraws and waits for the traffic to move, and the pod is put
     * back once the restarted container is ready.
     */
    CONTAINER_RESTART("container-restart"),
    /** A container of the pod exited without a preStop (a crash, an OOM kill): withdrawn at once, put back once ready. */
    CONTAINER_EXIT("container-exit");

    private final String label;

    Trigger(String label) {
        this.label = label;
    }

    /** Whether this trigger ends serving for good (the process's one drain) or starts a cycle the pod comes back from. */
    public boolean isRestart() {
        return this == CONTAINER_RESTART || this == CONTAINER_EXIT;
    }

    @JsonValue
    public String label() {
        return label;
    }
}
