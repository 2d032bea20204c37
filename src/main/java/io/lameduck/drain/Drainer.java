package io.lameduck.drain;

import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The drain algorithm. Every step gets only what remains of the one deadline:
 *
 * <ol>
 *   <li><b>unready</b>: the lifecycle moves to DRAINING, so {@code /readyz} answers 503;
 *   <li><b>withdraw</b>: the withdrawal strategy takes the pod out of Service endpoints and waits for the
 *       EndpointSlices to confirm it, for at most {@code withdrawTimeout};
 *   <li><b>propagate</b>: waits {@code propagationDelay} for kube-proxy, ingress controllers and load
 *       balancers to catch up;
 *   <li><b>hooks</b>: runs the drain hooks (see {@link HookRunner}): tell the app to drain, wait for its
 *       connections to end;
 *   <li>the lifecycle moves to DRAINED. The agent's own listener stays up so the outcome can be read.
 * </ol>
 *
 * A step that finds the deadline already passed is skipped. The outcome is {@code failed} when a hook
 * with {@code onFailure: abort} failed, {@code deadline_exceeded} when the deadline cut anything short,
 * {@code completed} otherwise.
 */
public final class Drainer {
    private final Lifecycle lifecycle;
    private final Withdrawal withdrawal;
    private final List<Hook> hooks;
    private final Duration withdrawTimeout;
    private final Duration propagationDelay;
    private final HookRunner hookRunner;
    private final Ticker ticker;

    public Drainer(Lifecycle lifecycle, Withdrawal withdrawal, List<Hook> hooks, Duration withdrawTimeout,
            Duration propagationDelay, ExecutorService hookExecutor, Ticker ticker) {
        this.lifecycle = lifecycle;
        this.withdrawal = withdrawal;
        this.hooks = List.copyOf(hooks);
        this.withdrawTimeout = withdrawTimeout;
        this.propagationDelay = propagationDelay;
        this.hookRunner = new HookRunner(hookExecutor, ticker);
        this.ticker = ticker;
    }

    public String strategy() {
        return withdrawal.strategy();
    }

    DrainReport drain(DrainRecorder recorder, Deadline deadline, DrainListener listener, String drainId) throws InterruptedException {
        StepLog steps = new StepLog(recorder, listener, drainId);

        long start = ticker.nanoTime();
        lifecycle.moveTo(State.DRAINING, "drain " + drainId + " started");
        steps.finished(StepReport.UNREADY, start, Outcome.COMPLETED, "/readyz answers 503", null);

        start = ticker.nanoTime();
        if (deadline.isExpired()) {
            steps.skipped(StepReport.WITHDRAW);
        } else {
            Withdrawal.Result result = withdrawal.withdraw(deadline.cap(withdrawTimeout));
            recorder.withdrawal(result.report());
            steps.finished(StepReport.WITHDRAW, start, outcomeOf(result.status()), result.detail(),
                    result.status() == Withdrawal.Status.DEGRADED ? "withdrawal degraded to the probe strategy" : null);
        }

        start = ticker.nanoTime();
        if (deadline.isExpired()) {
            steps.skipped(StepReport.PROPAGATE);
        } else {
            Duration delay = deadline.cap(propagationDelay);
            TimeUnit.NANOSECONDS.sleep(delay.toNanos()); // waiting for other systems is this step's whole job
            boolean cut = delay.compareTo(propagationDelay) < 0;
            steps.finished(StepReport.PROPAGATE, start, cut ? Outcome.TIMED_OUT : Outcome.COMPLETED,
                    "waited " + delay.toMillis() + "ms for load balancers to catch up",
                    cut ? "cut short by the drain deadline" : null);
        }

        start = ticker.nanoTime();
        HookRunner.Result hookResult = hookRunner.runAll(hooks, deadline, hook -> {
            recorder.hook(hook);
            listener.hookFinished(drainId, hook);
        });
        Outcome hooksOutcome = hookResult.aborted() ? Outcome.FAILED
                : hookResult.deadlineReached() ? Outcome.TIMED_OUT : Outcome.COMPLETED;
        steps.finished(StepReport.HOOKS, start, hooksOutcome, hooks.size() + " hooks",
                hookResult.aborted() ? "a hook with onFailure: abort failed" : null);

        DrainOutcome outcome = hookResult.aborted() ? DrainOutcome.FAILED
                : steps.deadlineCutSomething || hookResult.deadlineReached() ? DrainOutcome.DEADLINE_EXCEEDED
                : DrainOutcome.COMPLETED;
        lifecycle.moveTo(State.DRAINED, "drain " + drainId + " " + outcome.label());
        return recorder.snapshot(outcome);
    }

    private static Outcome outcomeOf(Withdrawal.Status status) {
        return switch (status) {
            case CONFIRMED, UNVERIFIED -> Outcome.COMPLETED;
            case TIMED_OUT -> Outcome.TIMED_OUT;
            case DEGRADED -> Outcome.FAILED;
        };
    }

    /** Records steps and tells the listener; remembers whether the deadline cut a step. */
    private final class StepLog {
        private final DrainRecorder recorder;
        private final DrainListener listener;
        private final String drainId;
        boolean deadlineCutSomething;

        StepLog(DrainRecorder recorder, DrainListener listener, String drainId) {
            this.recorder = recorder;
            this.listener = listener;
            this.drainId = drainId;
        }

        void finished(String name, long startNanos, Outcome outcome, String detail, String error) {
            add(new StepReport(name, outcome, (ticker.nanoTime() - startNanos) / 1e9, detail, error));
        }

        void skipped(String name) {
            deadlineCutSomething = true;
            add(new StepReport(name, Outcome.SKIPPED, 0, null, "skipped: the drain deadline had passed"));
        }

        private void add(StepReport step) {
            if ("cut short by the drain deadline".equals(step.error())) {
                deadlineCutSomething = true;
            }
            recorder.step(step);
            listener.stepFinished(drainId, step);
        }
    }
}
