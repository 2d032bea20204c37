package io.lameduck.drain;

import io.lameduck.time.Deadline;


/**
 * How a step ended, before the {@link Drainer} times and records it.
 *
 * @param cutByDeadline the drain deadline cut this step short (or it was skipped because the deadline had passed)
 * @param abortsDrain the step failed in a way that fails the whole drain (a hook with {@code onFailure: abort})
 */
record StepResult(Outcome outcome, String detail, String error, boolean cutByDeadline, boolean abortsDrain) {
    static StepResult completed(String detail) {
        return new StepResult(Outcome.COMPLETED, detail, null, false, false);
    }

    static StepResult failed(String detail, String error) {
        return new StepResult(Outcome.FAILED, detail, error, false, false);
    }

    /** The step ran out of {@code grant}: the deadline cut it short exactly when the grant had been cut. */
    static StepResult timedOut(Deadline.Grant grant, String detail, String error) {
        return grant.cutByDeadline() ? cutByDeadline(detail) : new StepResult(Outcome.TIMED_OUT, detail, error, false, false);
    }

    static StepResult cutByDeadline(String detail) {
        return new StepResult(Outcome.TIMED_OUT, detail, "cut short by the drain deadline", true, false);
    }

    static StepResult skippedAtDeadline() {
        return new StepResult(Outcome.SKIPPED, null, "skipped: the drain deadline had passed", true, false);
    }

    static StepResult aborted(String detail, String error) {
        return new StepResult(Outcome.FAILED, detail, error, false, true);
    }
}
