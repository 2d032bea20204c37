package io.lameduck.drain;

import java.time.Duration;

/**
 * Takes the pod out of (and puts it back into) Service endpoints. The drain engine only knows this
 * interface; the Kubernetes strategies implement it elsewhere.
 */
public interface Withdrawal {
    /** {@code probe}, {@code label} or {@code readiness-gate}. */
    String strategy();

    /**
     * Marks the pod as serving again (e.g. sets the readiness gate True). Called when the agent becomes
     * READY and when maintenance ends. Must not throw: failures are reported in the result.
     */
    Result restore();

    /**
     * Takes the pod out of endpoints and waits until that is confirmed or {@code timeout} passes.
     * Must not throw for API trouble: it degrades and says so in the result.
     */
    Result withdraw(Duration timeout) throws InterruptedException;

    /**
     * What a withdrawal or restore achieved, and one line for the report.
     *
     * @param report what the EndpointSlices showed and when, and warnings; null when there is nothing to tell
     */
    record Result(Status status, String detail, WithdrawalReport report) {
        public Result(Status status, String detail) {
            this(status, detail, null);
        }

        public boolean confirmed() {
            return status == Status.CONFIRMED;
        }
    }

    enum Status {
        /** The EndpointSlices were seen to agree. */
        CONFIRMED,
        /** Done, but this strategy cannot verify it (probe). */
        UNVERIFIED,
        /** Done, but the EndpointSlices did not agree before the timeout. */
        TIMED_OUT,
        /** The strategy could not do its job and fell back to failing /readyz (e.g. API unreachable, 403). */
        DEGRADED
    }
}
