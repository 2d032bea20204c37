package io.lameduck.drain;

import io.lameduck.listen.ListenerQueue;
import io.lameduck.time.Deadline;
import io.lameduck.time.Durations;
import io.lameduck.time.TimeSource;
import java.time.Instant;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One drain per process. The first trigger fixes the deadline and starts the drain on its own thread;
 * every later trigger joins it and receives the same report (same drain id). Its threads are started, and the deadline
 * kept, on a {@link TimeSource} ({@link TimeSource#SYSTEM} in the agent), so a whole drain runs on simulated time in
 * tests.
 */
public final class DrainCoordinator {
    private static final Logger LOG = LoggerFactory.getLogger(DrainCoordinator.class);

    private final Drainer drainer;
    private final BudgetSource budgetSource;
    private final Duration fallbackBudget;
    private final Duration safetyMargin;
    private final TimeSource time;
    private final Clock clock;
    private final ListenerQueue<DrainListener> listeners = new ListenerQueue<>(DrainCoordinator.class);
    /** What the drains announce through: every drain's events, in the order they happened, one listener call at a time. */
    private final DrainListener announcer = new Announcer(listeners);
    private final Object lock = new Object();
    private CompletableFuture<DrainReport> claimed; // guarded by lock; set once, by the first trigger
    private volatile Running running; // set once, when the drain thread has fixed the deadline
    private final CompletableFuture<Deadline> deadlineFixed = new CompletableFuture<>();

    private record Running(DrainRecorder recorder, Deadline deadline, CompletableFuture<DrainReport> result) {}

    /**
     * @param fallbackBudget {@code drain.budget}: the budget when {@code budgetSource} fails in any way, so a drain
     *     always gets a deadline
     */
    public DrainCoordinator(Drainer drainer, BudgetSource budgetSource, Duration fallbackBudget, Duration safetyMargin,
            TimeSource time) {
        this.drainer = drainer;
        this.budgetSource = budgetSource;
        this.fallbackBudget = fallbackBudget;
        this.safetyMargin = safetyMargin;
        this.time = time;
        this.clock = time.wallClock();
    }

    public void addListener(DrainListener listener) {
        listeners.add(listener);
    }

    /**
     * Starts the drain, or joins the one already running or finished. The future never completes exceptionally.
     * Only claiming the drain happens under the lock; the budget (possibly an API read) is read on the drain's own
     * thread, so {@code /status} and later triggers never wait for it.
     */
    public CompletableFuture<DrainReport> trigger(Trigger trigger) {
        CompletableFuture<DrainReport> result;
        long triggeredAt;
        synchronized (lock) {
            if (claimed != null) {
                LOG.info("{} trigger joins drain already in progress", trigger.label());
                return claimed;
            }
            result = new CompletableFuture<>();
            claimed = result;
            triggeredAt = time.nanoTime();
        }
        time.start("lameduck-drain", () -> result.complete(run(trigger, triggeredAt, result)));
        return result;
    }

    /**
     * Withdraws for a container restart ({@link Drainer#withdrawForRestart}): a drain of its own, with its own id
     * ({@code restart-...}), budget, deadline and report, announced to the same listeners, but never the process's one
     * drain: the lifecycle stays READY, and a later {@link #trigger} still starts the real drain. The future never
     * completes exceptionally.
     *
     * @param propagate whether to wait for the traffic to move (false when the container already exited)
     */
    public CompletableFuture<DrainReport> withdrawForRestart(Trigger trigger, boolean propagate) {
        CompletableFuture<DrainReport> result = new CompletableFuture<>();
        long triggeredAt = time.nanoTime();
        time.start("lameduck-restart", () -> result.complete(runRestart(trigger, propagate, triggeredAt, result)));
        return result;
    }

    private DrainReport runRestart(Trigger trigger, boolean propagate, long triggeredAt, CompletableFuture<DrainReport> result) {
        Running drain = begin("restart-", trigger, trigger == Trigger.CONTAINER_EXIT ? this::exitedContainerBudget : budgetSource,
                triggeredAt, result);
        return announced(drain, trigger, initial -> drainer.withdrawForRestart(drain.recorder, drain.deadline, initial.listener(), initial.id(), propagate));
    }

    /**
     * The budget of a withdrawal for a container that already exited (a crash, an OOM kill): {@code drain.budget}, not
     * read from the pod. No kubelet waits on this withdrawal, so there is no pod deadline to keep, and its one step is
     * bounded by {@code drain.withdraw.timeout} anyway; the budget source's reads of the pod and its Events only delayed
     * it (ContainerRestartOnNodeTest: a crash's withdrawal began 1.0 s after the API showed the exit, 0.8 s of it that read,
     * under a busy API server).
     */
    private BudgetSource.Budget exitedContainerBudget() {
        return new BudgetSource.Budget(fallbackBudget, "drain.budget (a container exited: no kubelet deadline to read)");
    }

    /** True once any trigger has claimed the drain (even while its budget is still being read). */
    public boolean triggered() {
        synchronized (lock) {
            return claimed != null;
        }
    }

    /**
     * Runs {@code action} unless a drain has been triggered, atomically with triggers: a trigger either comes before
     * (and the action does not run) or after it. The agent becomes READY this way, so a drain triggered during
     * start-up (a signal, a deletion) can never be followed by READY while its budget is still being read.
     */
    public boolean runUnlessTriggered(Runnable action) {
        synchronized (lock) {
            if (claimed != null) {
                return false;
            }
            action.run();
            return true;
        }
    }

    /**
     * Fixes the deadline, counted from the trigger: time spent asking for the budget (an API read) is already spent.
     * Whatever the budget source does wrong (throws, returns nothing), the drain still gets a deadline, from
     * {@code drain.budget}: {@code /prestop} callers wait for {@link #deadlineFixed()}, and a drain without one would
     * hold them (and the app's SIGTERM) until the kubelet gives up.
     */
    private Running begin(String idPrefix, Trigger trigger, BudgetSource from, long triggeredAt, CompletableFuture<DrainReport> result) {
        BudgetSource.Budget budget;
        try {
            budget = Objects.requireNonNull(from.budget(), "the budget source returned no budget");
            Objects.requireNonNull(budget.total(), "the budget source returned a budget without a duration");
        } catch (RuntimeException | Error e) {
            // Errors too (a class that failed to load, a stack overflow): nothing may stop the drain from starting.
            LOG.warn("cannot determine the drain budget ({}); using drain.budget {} so the drain still runs within a "
                    + "deadline. The pod's own deadline may be shorter: keep drain.budget at or below its "
                    + "terminationGracePeriodSeconds", e.toString(), Durations.format(fallbackBudget), e);
            budget = new BudgetSource.Budget(fallbackBudget, "drain.budget (the budget source failed: " + e.getClass().getSimpleName() + ")");
        }
        Duration spentReading = Duration.ofNanos(time.nanoTime() - triggeredAt);
        Duration margin = budget.margin().orElse(safetyMargin);
        Deadline deadline = Deadline.after(budget.total().minus(margin).minus(spentReading), time, clock);
        String id = idPrefix + UUID.randomUUID().toString().substring(0, 8);
        String source = budget.source() + " " + Durations.seconds(budget.total()) + " minus "
                + (budget.margin().isPresent() ? "margin " : "safety margin ") + Durations.seconds(margin);
        return new Running(new DrainRecorder(id, trigger, budget.cause().orElse(null), deadline, source, time, clock), deadline, result);
    }

    private DrainReport run(Trigger trigger, long triggeredAt, CompletableFuture<DrainReport> result) {
        Running drain = begin("drain-", trigger, budgetSource, triggeredAt, result);
        running = drain;
        deadlineFixed.complete(drain.deadline);
        return announced(drain, trigger, initial -> drainer.drain(drain.recorder, drain.deadline, initial.listener(), initial.id()));
    }

    /** A drain's id and the listeners that hear of it. */
    private record Announced(String id, DrainListener listener) {}

    @FunctionalInterface
    private interface Body {
        DrainReport run(Announced drain) throws InterruptedException;
    }

    /** Announces the drain to the listeners, runs {@code body}, announces its report; never throws. */
    private DrainReport announced(Running drain, Trigger trigger, Body body) {
        DrainReport initial = drain.recorder.snapshot(DrainOutcome.RUNNING);
        LOG.info("drain {} started by {}{}; deadline {} ({} from now)", initial.id(), trigger.label(),
                initial.cause() == null ? "" : " (cause " + initial.cause() + ")", drain.deadline.instant(),
                Durations.seconds(drain.deadline.remaining()));
        announcer.drainStarted(initial.id(), trigger, drain.deadline.instant());
        DrainReport report;
        try {
            report = body.run(new Announced(initial.id(), announcer));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            report = drain.recorder.snapshot(DrainOutcome.FAILED);
        } catch (RuntimeException | Error e) {
            // Errors too: the future must complete, or the signal handler waiting for it never stops the agent.
            LOG.error("drain {} failed unexpectedly", initial.id(), e);
            report = drain.recorder.snapshot(DrainOutcome.FAILED);
        }
        announcer.drainFinished(report);
        return report;
    }

    /** The drain report: live while the drain runs, final afterwards; empty before any drain (and while its budget is read). */
    public Optional<DrainReport> report() {
        Running drain = running;
        if (drain == null) {
            return Optional.empty();
        }
        DrainReport done = drain.result.getNow(null);
        return Optional.of(done != null ? done : drain.recorder.snapshot(DrainOutcome.RUNNING));
    }

    /** The running or finished drain's deadline; empty before any drain (and while its budget is read). */
    public Optional<Deadline> deadline() {
        return Optional.ofNullable(running).map(Running::deadline);
    }

    /**
     * Completes with the drain's deadline once it is fixed (after the budget read, which is bounded). Callers that
     * bound a wait by the deadline use this rather than {@link #deadline()}, which is empty during the budget read:
     * a {@code /prestop} arriving in that moment must still wait for the whole drain.
     */
    public CompletableFuture<Deadline> deadlineFixed() {
        return deadlineFixed.copy();
    }

    public String strategy() {
        return drainer.strategy();
    }

    /**
     * Hands each event to the listener queue, queued and delivered at once: no lock is held when a drain announces. The
     * queue still matters: events come from the drain's thread, the thread of the hooks at the trigger and a restart
     * withdrawal's thread, and listeners hear them one at a time, in order. It contains a listener's {@code Error} too:
     * {@code drainStarted} runs before the drain's own try, and the future must complete.
     */
    private record Announcer(ListenerQueue<DrainListener> listeners) implements DrainListener {
        @Override
        public void drainStarted(String drainId, Trigger trigger, Instant deadline) {
            listeners.deliver("drainStarted " + drainId, l -> l.drainStarted(drainId, trigger, deadline));
        }

        @Override
        public void stepFinished(String drainId, StepReport step) {
            listeners.deliver("stepFinished " + drainId + " " + step.name(), l -> l.stepFinished(drainId, step));
        }

        @Override
        public void hookFinished(String drainId, HookReport hook) {
            listeners.deliver("hookFinished " + drainId + " " + hook.name(), l -> l.hookFinished(drainId, hook));
        }

        @Override
        public void drainFinished(DrainReport report) {
            listeners.deliver("drainFinished " + report.id(), l -> l.drainFinished(report));
        }
    }
}
