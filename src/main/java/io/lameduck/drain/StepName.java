package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** The steps of a drain, in the order they run (see {@link Drainer}). */
public enum StepName {
    /** The lifecycle moves to DRAINING: {@code /readyz} answers 503. Runs even when the deadline has passed. */
    UNREADY(true),
    /**
     * The withdrawal strategy takes the pod out of Service endpoints and waits for the confirmation. Runs even when the
     * deadline has passed, for at least {@link Drainer#WITHDRAW_FLOOR}: a pod left in endpoints while the kubelet kills it
     * drops requests (a kubelet eviction gives the agent 2 s, which the budget read alone can spend).
     */
    WITHDRAW(true),
    /** Waits until load balancers have stopped sending new connections (or a fixed delay). */
    PROPAGATE(false),
    /** The drain hooks. Runs even when the deadline has passed, so that every hook is reported skipped. */
    HOOKS(true);

    private final boolean runsPastDeadline;

    StepName(boolean runsPastDeadline) {
        this.runsPastDeadline = runsPastDeadline;
    }

    /** Whether the step runs even once the deadline has passed; the others are then skipped. */
    public boolean runsPastDeadline() {
        return runsPastDeadline;
    }

    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
