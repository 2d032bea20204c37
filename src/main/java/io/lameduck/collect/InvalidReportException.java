package io.lameduck.collect;

/** An Event labelled as a drain report whose annotations do not hold one; the message says what is wrong. */
public final class InvalidReportException extends Exception {
    public InvalidReportException(String message) {
        super(message);
    }
}
