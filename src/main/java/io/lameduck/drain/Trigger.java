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
    /** The agent found its pod already being deleted (e.g. after a restart). */
    POD_DELETION("pod-deletion");

    private final String label;

    Trigger(String label) {
        this.label = label;
    }

    @JsonValue
    public String label() {
        return label;
    }
}
