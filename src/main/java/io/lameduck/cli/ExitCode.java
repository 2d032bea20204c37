package io.lameduck.cli;

/** The documented process exit codes. Only {@code Main} turns errors into these. */
public enum ExitCode {
    OK(0),
    /** A client command could not reach the agent (or, for {@code terminations}, the collector), or it refused the request. */
    AGENT_ERROR(1),
    UNEXPECTED(2),
    INVALID_CONFIG(3),
    CANNOT_BIND(4),
    SERVER_ERROR(5),
    /** A {@code check} command found a problem in the cluster, or could not get an answer from its API; it printed what to fix. */
    CHECK_FAILED(6);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
