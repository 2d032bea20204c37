package io.lameduck.cli;

/**
 * A {@code check} command found what it checks not working, or could not get an answer from the API. The message is
 * the problem on its first line, then what to check (Main prints it once, on stderr; exit 6).
 */
public final class CheckFailedException extends Exception {
    private static final long serialVersionUID = 1L;

    public CheckFailedException(String message) {
        super(message);
    }
}
