package io.lameduck.drain;

import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.time.Deadline;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The drain algorithm. Every step gets only what remains of the one deadline:
 *
 * <ol>
 *   <li><b>unready</b>: the lifecycle moves to DRAINING, so {@code /readyz} answers 503;
 *   <li><b>withdraw</b>: the withdrawal strategy takes the pod out of Service endpoints and waits for the
 *       EndpointSlices to confirm it, for at most {@code withdrawTimeout};
 *   <li><b>propagate</b>: waits until kube-proxy, ingress controllers and load balancers have stopped sending
 *       traffic: new connections, and requests on the keep-alive connections they hold (see {@link Propagation}). The
 *       traffic is watched from the start of the drain, so the withdrawal's own time counts;
 *   <li><b>hooks</b>: runs the drain hooks (see {@link HookRunner}): tell the app to drain, wait for its
 *       connections to end. Hooks {@code at: trigger} started with the drain, beside the withdrawal and the traffic
 *       watch (an app told to leave early answers {@code Connection: close}, so its keep-alive clients move to new
 *       connections, which the data plane sends elsewhere once it has caught up); this step first waits for them;
 *   <li>the lifecycle moves to DRAINED. The agent's own listener stays up so the outcome can be read.
 * </ol>
 *
 * A timed step that finds the deadline already passed is skipped, except the withdrawal, which always gets at least
 * {@link #WITHDRAW_FLOOR}. The outcome is {@code failed} when a hook
 * with {@code onFailure: abort} failed, {@code deadline_exceeded} when the deadline cut any step short,
 * {@code completed} otherwise.
 *
 * <p>Steps are timed, and the hooks waited for, on a {@link TimeSource} ({@link TimeSource#SYSTEM} in the agent), so a
 * test on simulated time knows exactly when each step and the drain ended.
 */
public final class Drainer {
    /** The least time the withdrawal gets, even past the deadline: enough for its patch, if not for its confirmation. */
    public static final Duration WITHDRAW_FLOOR = Duration.ofMillis(500);

    private final Lifecycle lifecycle;
    private final Withdrawal withdrawal;
    private final List<Hook> hooksAtTrigger;
    private final List<Hook> hooksAtQuiet;
    private final ExecutorService hookExecutor;
    private final Duration withdrawTimeout;
    private final Propagation propagation;
    private final HookRunner hookRunner;
    private final TimeSource time;

    public Drainer(Lifecycle lifecycle, Withdrawal withdrawal, List<Hook> hooks, Duration withdrawTimeout,
            Propagation propagation, ExecutorService hookExecutor, TimeSource time) {
        this.lifecycle = lifecycle;
        this.withdrawal = withdrawal;
        this.hooksAtTrigger = hooks.stream().filter(Hook::atTrigger).toList();
        this.hooksAtQuiet = hooks.stream().filter(hook -> !hook.atTrigger()).toList();
        this.hookExecutor = hookExecutor;
        this.withdrawTimeout = withdrawTimeout;
        this.propagation = propagation;
        this.hookRunner = new HookRunner(hookExecutor, time);
        this.time = time;
    }

    public String strategy() {
        return withdrawal.strategy();
    }

    DrainReport drain(DrainRecorder recorder, Deadline deadline, DrainListener listener, String drainId) throws InterruptedException {
        Steps steps = new Steps(recorder, listener, drainId, deadline);
        Consumer<HookReport> hookFinished = hook -> {
            recorder.hook(hook);
            listener.hookFinished(drainId, hook);
        };
        Future<HookRunner.Result> atTrigger = null;
        try {
            // Traffic is watched from the start, so the withdrawal's own time already counts toward the evidence.
            try (Propagation.Watch traffic = propagation.watch()) {
                // After the watch's first look: an app told to leave closes its keep-alive connections as it answers
                // their next requests, and those requests are the rate the watch measures.
                atTrigger = hooksAtTrigger.isEmpty() ? null
                        : hookExecutor.submit(() -> hookRunner.runAll(hooksAtTrigger, deadline, hookFinished));
                steps.run(StepName.UNREADY, d -> unready(drainId));
                steps.run(StepName.WITHDRAW, d -> withdraw(d, recorder, traffic));
                steps.run(StepName.PROPAGATE, d -> propagation.await(d, traffic, recorder::traffic));
            }
            Future<HookRunner.Result> early = atTrigger;
            steps.run(StepName.HOOKS, d -> runHooks(d, early, hookFinished));
        } finally {
            if (atTrigger != null) {
                atTrigger.cancel(true); // done by now, unless the drain itself was interrupted
            }
        }
        DrainOutcome outcome = steps.any(StepResult::abortsDrain) ? DrainOutcome.FAILED
                : steps.any(StepResult::cutByDeadline) ? DrainOutcome.DEADLINE_EXCEEDED
                : DrainOutcome.COMPLETED;
        lifecycle.moveTo(State.DRAINED, "drain " + drainId + " " + outcome.label());
        return recorder.snapshot(outcome);
    }

    /**
     * The first half of a drain, for a container that restarts while the pod stays: withdraw, then (when
     * {@code propagate}) wait for the traffic to move. The lifecycle stays READY and no hook runs: the app is
     * restarted, not stopped for good, and the pod is put back once it is ready again. A container that already
     * exited serves nothing, so its withdrawal does not wait for the traffic.
     */
    DrainReport withdrawForRestart(DrainRecorder recorder, Deadline deadline, DrainListener listener, String drainId,
            boolean propagate) throws InterruptedException {
        Steps steps = new Steps(recorder, listener, drainId, deadline);
        if (propagate) {
            try (Propagation.Watch traffic = propagation.watch()) {
                steps.run(StepName.WITHDRAW, d -> withdraw(d, recorder, traffic));
                steps.run(StepName.PROPAGATE, d -> propagation.await(d, traffic, recorder::traffic));
            }
        } else {
            steps.run(StepName.WITHDRAW, d -> withdraw(d, recorder, null));
        }
        DrainOutcome outcome = steps.any(StepResult::cutByDeadline) ? DrainOutcome.DEADLINE_EXCEEDED : DrainOutcome.COMPLETED;
        return recorder.snapshot(outcome);
    }

    private StepResult unready(String drainId) {
        lifecycle.moveTo(State.DRAINING, "drain " + drainId + " started");
        return StepResult.completed("/readyz answers 503");
    }

    private StepResult withdraw(Deadline deadline, DrainRecorder recorder, Propagation.Watch traffic) throws InterruptedException {
        Deadline.Grant wanted = deadline.grant(withdrawTimeout);
        Deadline.Grant grant = wanted.time().compareTo(WITHDRAW_FLOOR) >= 0 || withdrawTimeout.compareTo(WITHDRAW_FLOOR) < 0
                ? wanted : new Deadline.Grant(WITHDRAW_FLOOR, true);
        long start = time.nanoTime();
        Withdrawal.Result result = withdrawal.withdraw(grant.time());
        recorder.withdrawal(result.report());
        if (traffic != null && result.report() != null && result.report().readyFalseSeenAfterSeconds() != null) {
            traffic.notReady(start + (long) (result.report().readyFalseSeenAfterSeconds() * 1e9));
        }
        String detail = result.detail();
        if (traffic != null && result.report() != null && !result.report().ingresses().isEmpty()) {
            traffic.countHeldConnectionsUntilStopped();
            detail += "; an Ingress routes to the pod (" + String.join(", ", result.report().ingresses())
                    + "), so requests on open connections count until they stop, not only keepAliveWait";
        }
        return switch (result.status()) {
            case CONFIRMED, UNVERIFIED -> StepResult.completed(detail);
            case TIMED_OUT -> StepResult.timedOut(grant, detail, null);
            case DEGRADED -> StepResult.failed(detail, "withdrawal degraded to the probe strategy");
        };
    }

    private StepResult runHooks(Deadline deadline, Future<HookRunner.Result> atTrigger, Consumer<HookReport> onFinished)
            throws InterruptedException {
        HookRunner.Result early = atTrigger == null ? HookRunner.Result.NONE : finished(atTrigger);
        HookRunner.Result result = early.aborted()
                ? early.and(hookRunner.skipAll(hooksAtQuiet, "skipped: a hook at the trigger failed and has onFailure: abort", onFinished))
                : early.and(hookRunner.runAll(hooksAtQuiet, deadline, onFinished));
        String detail = (hooksAtTrigger.size() + hooksAtQuiet.size()) + " hooks"
                + (hooksAtTrigger.isEmpty() ? "" : " (" + hooksAtTrigger.size() + " at the trigger)");
        if (result.aborted()) {
            return StepResult.aborted(detail, "a hook with onFailure: abort failed");
        }
        return result.deadlineReached()
                ? StepResult.cutByDeadline(detail)
                : StepResult.completed(detail);
    }

    /** The hooks at the trigger, once they are done: each is bounded by its timeout and the drain deadline. */
    private HookRunner.Result finished(Future<HookRunner.Result> atTrigger) throws InterruptedException {
        time.await(atTrigger); // on the clock: simulated time must see this thread wait, not take it for stuck
        try {
            return atTrigger.get();
        } catch (ExecutionException e) {
            // runAll reports every hook's failure in its result; anything thrown is a bug in the runner itself.
            throw new IllegalStateException("running the hooks at the trigger failed", e.getCause());
        }
    }

    /** One step: given the deadline, does its work and says how it ended. */
    @FunctionalInterface
    private interface Step {
        StepResult run(Deadline deadline) throws InterruptedException;
    }

    /** Runs steps in turn (skipping those that need time once the deadline has passed), times, records and announces them. */
    private final class Steps {
        private final DrainRecorder recorder;
        private final DrainListener listener;
        private final String drainId;
        private final Deadline deadline;
        private final List<StepResult> results = new ArrayList<>();

        Steps(DrainRecorder recorder, DrainListener listener, String drainId, Deadline deadline) {
            this.recorder = recorder;
            this.listener = listener;
            this.drainId = drainId;
            this.deadline = deadline;
        }

        void run(StepName name, Step step) throws InterruptedException {
            long start = time.nanoTime();
            StepResult result = !name.runsPastDeadline() && deadline.isExpired() ? StepResult.skippedAtDeadline() : step.run(deadline);
            results.add(result);
            double seconds = result.outcome() == Outcome.SKIPPED ? 0 : (time.nanoTime() - start) / 1e9;
            StepReport report = new StepReport(name, result.outcome(), seconds, result.detail(), result.error());
            recorder.step(report);
            listener.stepFinished(drainId, report);
        }

        boolean any(Predicate<StepResult> test) {
            return results.stream().anyMatch(test);
        }
    }
}
