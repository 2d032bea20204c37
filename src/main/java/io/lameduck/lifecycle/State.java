package io.lameduck.lifecycle;

/**
 * The agent's lifecycle states. Declaration order is the legal transition order: the state only
 * ever moves to a later constant (states may be skipped), and {@link #FAILED} can be entered from
 * any non-terminal state.
 */
public enum State {
    CREATED,
    STARTING,
    READY,
    DRAINING,
    DRAINED,
    STOPPING,
    STOPPED,
    FAILED;

    public boolean isTerminal() {
        return this == STOPPED || this == FAILED;
    }

    /**
     * Whether serving is over for good: a drain began (or the agent stops, or failed). Nothing may then mark the pod
     * serving again, restore a withdrawal or start maintenance: the drain owns the withdrawal.
     */
    public boolean servingIsOver() {
        return ordinal() >= DRAINING.ordinal();
    }

    /** Whether the lifecycle may move from this state to {@code target}. */
    public boolean canMoveTo(State target) {
        if (isTerminal()) {
            return false;
        }
        return target == FAILED || target.ordinal() > ordinal();
    }
}
