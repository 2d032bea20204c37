package io.lameduck.cli;

/** A client command could not talk to the agent, or the agent answered with an error. */
public final class AgentUnreachableException extends Exception {
    private static final long serialVersionUID = 1L;

    public AgentUnreachableException(String message) {
        super(message);
    }
}
