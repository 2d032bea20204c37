package io.lameduck.drain;

import io.lameduck.time.Deadline;
import io.lameduck.time.Ticker;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Collects a drain's steps and hooks as they finish, so {@code /status} can show a drain in progress. */
final class DrainRecorder {
    private final String id;
    private final Trigger trigger;
    private final Cause cause;
    private final Instant startedAt;
    private final long startNanos;
    private final Deadline deadline;
    private final String deadlineSource;
    private final Ticker ticker;
    private final List<StepReport> steps = new ArrayList<>();
    private final List<HookReport> hooks = new ArrayList<>();
    private TrafficReport traffic;
    private WithdrawalReport withdrawal;

    /** @param cause null when the pod did not say who is taking it away */
    DrainRecorder(String id, Trigger trigger, Cause cause, Deadline deadline, String deadlineSource, Ticker ticker, Clock clock) {
        this.id = id;
        this.trigger = trigger;
        this.cause = cause;
        this.deadline = deadline;
        this.deadlineSource = deadlineSource;
        this.ticker = ticker;
        this.startedAt = clock.instant();
        this.startNanos = ticker.nanoTime();
    }

    synchronized void step(StepReport step) {
        steps.add(step);
    }

    /** What the withdraw step saw on the EndpointSlices; null leaves the report without it. */
    synchronized void withdrawal(WithdrawalReport report) {
        withdrawal = report;
    }

    synchronized void hook(HookReport hook) {
        hooks.add(hook);
    }

    synchronized void traffic(TrafficReport seen) {
        traffic = seen;
    }

    /** The report as it stands; {@code finishedAt} is set when {@code outcome} is final. */
    synchronized DrainReport snapshot(DrainOutcome outcome) {
        double elapsed = (ticker.nanoTime() - startNanos) / 1e9;
        Instant finishedAt = outcome == DrainOutcome.RUNNING ? null : startedAt.plusNanos((long) (elapsed * 1e9));
        return new DrainReport(id, trigger, cause, outcome, startedAt, finishedAt, deadline.instant(), deadlineSource,
                elapsed, steps, withdrawal, hooks, traffic);
    }
}
