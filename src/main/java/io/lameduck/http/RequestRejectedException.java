package io.lameduck.http;

/** A request that cannot be served; becomes a JSON error with {@link #status()}. */
final class RequestRejectedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int status;

    RequestRejectedException(int status, String message) {
        super(message);
        this.status = status;
    }

    int status() {
        return status;
    }
}
