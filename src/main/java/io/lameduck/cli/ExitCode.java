package io.lameduck.cli;

/** The documented process exit codes. Only {@code Main} turns errors into these. */
public enum ExitCode {
    OK(0),
    /** A client command could not reach the agent, or the agent refused the request. */
    AGENT_ERROR(1),
    UNEXPECTED(2),
    INVALID_CONFIG(3),
    CANNOT_BIND(4),
    SERVER_ERROR(5);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
