package io.lameduck.http;

/** The admin server failed while starting or stopping, for a reason other than binding (exit code 5). */
public final class ServerException extends Exception {
    private static final long serialVersionUID = 1L;

    public ServerException(String message, Throwable cause) {
        super(message, cause);
    }
}
