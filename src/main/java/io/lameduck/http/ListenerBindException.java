package io.lameduck.http;

/** The admin listener could not bind its address (exit code 4). */
public final class ListenerBindException extends Exception {
    private static final long serialVersionUID = 1L;

    public ListenerBindException(String message, Throwable cause) {
        super(message, cause);
    }
}
