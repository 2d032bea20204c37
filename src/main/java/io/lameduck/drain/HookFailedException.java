package io.lameduck.drain;

/** A hook ran and failed; the message says what went wrong, for the drain report. */
public final class HookFailedException extends Exception {
    private static final long serialVersionUID = 1L;

    public HookFailedException(String message) {
        super(message);
    }

    public HookFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
