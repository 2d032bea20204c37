package io.lameduck.cli;

/** {@code lameduck terminations} got no usable answer from the fleet collector; the message says what to check. Exit 1. */
public final class CollectorUnreachableException extends Exception {
    public CollectorUnreachableException(String message) {
        super(message);
    }
}
