package io.lameduck.restart;

import io.lameduck.drain.DrainReport;
import io.lameduck.drain.Trigger;
import io.lameduck.drain.Withdrawal;
import io.lameduck.listen.ListenerQueue;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A container that restarts while its pod stays: a withdrawal that is undone, a cycle inside READY. The lifecycle never
 * leaves READY for it; a drain (the pod deleted or disrupted, SIGTERM to the agent) supersedes it and keeps the pod
 * withdrawn for good.
 *
 * <ol>
 *   <li>A cycle begins with a {@code /prestop} on a pod that is not being deleted or disrupted (the kubelet is about to
 *       restart a container, e.g. after a failed liveness probe: trigger {@code container-restart}), or when the pod's
 *       status shows a running container stopped or restarted without one (a crash, an OOM kill: {@code container-exit}).
 *   <li>It withdraws as a drain of its own, with its own report ({@code restart-...}); before a kill it also waits for
 *       the traffic to move, and the {@code /prestop} caller gets the report then, so the kill proceeds.
 *   <li>It waits for the kill: a container's {@code restartCount} above what it was when the cycle began, or a container
 *       that ran then and runs no more. When none comes within the deadline plus {@link #KILL_GRACE} (nothing was
 *       killed, e.g. a {@code /prestop} by hand), the pod is put back.
 *   <li>Once every container that went down runs again, restarted, and is ready, the pod is put back (unless
 *       maintenance is on: then its end does that) and the cycle ends.
 * </ol>
 *
 * A {@code /prestop} during a cycle joins it. Restores happen under the cycle's lock, so a restore of one cycle can never
 * undo the withdrawal of the next.
 */
public final class RestartCycle {
    private static final Logger LOG = LoggerFactory.getLogger(RestartCycle.class);
    /**
     * How long past the withdrawal's deadline a kill may take to show in the pod's status: the kubelet kills within the
     * grace period left after the preStop, then its PLEG (1 s relist) and status manager report it.
     */
    public static final Duration KILL_GRACE = Duration.ofSeconds(30);

    /** Hears of every cycle's end, once, outside the cycle's lock. */
    @FunctionalInterface
    public interface Listener {
        void cycleEnded(RestartStatus ended);
    }

    private enum Phase {
        WITHDRAWING("withdrawing"), AWAITING_KILL("awaiting-kill"), AWAITING_READY("awaiting-ready");

        final String label;

        Phase(String label) {
            this.label = label;
        }
    }

    /** One cycle; its fields are guarded by the cycle's lock. */
    private static final class Cycle {
        final Trigger trigger;
        final Instant since;
        final Map<String, ContainerState> baseline;
        final Set<String> down = new TreeSet<>();
        Phase phase = Phase.WITHDRAWING;
        CompletableFuture<DrainReport> report;
        String drainId;
        ScheduledFuture<?> killTimer;

        Cycle(Trigger trigger, Instant since, Map<String, ContainerState> baseline) {
            this.trigger = trigger;
            this.since = since;
            this.baseline = baseline;
        }
    }

    private final BiFunction<Trigger, Boolean, CompletableFuture<DrainReport>> withdraw;
    private final Supplier<Optional<Withdrawal.Result>> restore;
    private final ScheduledExecutorService scheduler;
    private final Duration killGrace;
    private final Clock clock;
    /** Told of each cycle's end in the order the cycles ended: queued under the lock, delivered after it. */
    private final ListenerQueue<Listener> listeners = new ListenerQueue<>(RestartCycle.class);
    private final Object lock = new Object();
    private Cycle cycle; // guarded by lock
    private boolean drainBegan; // guarded by lock: from then on no cycle begins
    private Map<String, ContainerState> lastSeen = Map.of(); // guarded by lock
    private volatile RestartStatus status = RestartStatus.NONE;

    /**
     * @param withdraw withdraws as a drain of its own (trigger, whether to wait for the traffic to move); its future
     *     never fails
     * @param restore puts the pod back unless maintenance is on (then empty); bounded, never throws
     */
    public RestartCycle(BiFunction<Trigger, Boolean, CompletableFuture<DrainReport>> withdraw,
            Supplier<Optional<Withdrawal.Result>> restore, ScheduledExecutorService scheduler, Duration killGrace, Clock clock) {
        this.withdraw = withdraw;
        this.restore = restore;
        this.scheduler = scheduler;
        this.killGrace = killGrace;
        this.clock = clock;
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** The cycle in progress, or the last one that ended. */
    public RestartStatus status() {
        return status;
    }

    /** Whether a cycle holds the pod withdrawn: nothing else may put it back meanwhile (e.g. a late start-up mark). */
    public boolean holdsWithdrawal() {
        return status.active();
    }

    /**
     * A {@code /prestop} on a pod that is not being deleted or disrupted: a container is about to be killed and
     * restarted. Begins a cycle (or joins the one in progress) and completes with its withdrawal report, once the
     * traffic has moved.
     *
     * @param fresh the pod as just read, if it could be: the containers' restart counts the kill is measured against
     * @param drain joins the drain instead, when one began meanwhile
     */
    public CompletableFuture<DrainReport> prestop(Optional<PodFacts> fresh, Supplier<CompletableFuture<DrainReport>> drain) {
        synchronized (lock) {
            if (drainBegan) {
                return drain.get(); // a drain began since the caller looked: join it
            }
            if (cycle != null) {
                LOG.info("/prestop joins the restart cycle in progress ({})", cycle.trigger.label());
                return cycle.report;
            }
            fresh.ifPresent(facts -> lastSeen = byName(facts.containers()));
            return begin(Trigger.CONTAINER_RESTART, lastSeen, Set.of()).report;
        }
    }

    /**
     * A state of the pod from its watch or a fresh read. Without a cycle, a container that stopped or restarted since
     * the last state seen begins one ({@code container-exit}); during a cycle, it moves the cycle on. A pod being deleted
     * or disrupted is the drain's business: nothing happens here.
     */
    public void podChanged(PodFacts facts) {
        synchronized (lock) {
            Map<String, ContainerState> previous = lastSeen;
            lastSeen = byName(facts.containers());
            if (facts.terminating() || drainBegan) {
                return;
            }
            if (cycle == null) {
                Set<String> exited = wentDown(previous, lastSeen);
                if (!exited.isEmpty()) {
                    LOG.warn("container(s) {} stopped or restarted without a preStop ({}): withdrawing the pod until they are ready again",
                            exited, describe(exited, lastSeen));
                    begin(Trigger.CONTAINER_EXIT, previous, exited);
                }
            }
            if (cycle != null) {
                cycle.down.addAll(wentDown(cycle.baseline, lastSeen));
                tell(advance(cycle));
            }
        }
        listeners.dispatch();
    }

    /**
     * A drain began: it owns the withdrawal from now on, so the cycle in progress ends without putting the pod back, and
     * no cycle begins any more.
     */
    public void supersedeByDrain() {
        synchronized (lock) {
            drainBegan = true;
            if (cycle == null) {
                return;
            }
            RestartStatus ended = end(cycle, "superseded", "a drain began: it owns the withdrawal, and the pod stays withdrawn");
            LOG.info("restart cycle {} superseded: {}", ended.drainId(), ended.detail());
            tell(ended);
        }
        listeners.dispatch();
    }

    /** Holding the lock. */
    private Cycle begin(Trigger trigger, Map<String, ContainerState> baseline, Set<String> down) {
        Cycle started = new Cycle(trigger, clock.instant(), baseline);
        started.down.addAll(down);
        cycle = started;
        publish(started, "withdrawing" + (trigger == Trigger.CONTAINER_RESTART ? " and waiting for the traffic to move" : ""));
        started.report = withdraw.apply(trigger, trigger == Trigger.CONTAINER_RESTART);
        started.report.thenAccept(report -> withdrawn(started, report));
        return started;
    }

    private void withdrawn(Cycle withdrawnCycle, DrainReport report) {
        synchronized (lock) {
            if (cycle != withdrawnCycle) {
                return; // superseded meanwhile
            }
            withdrawnCycle.drainId = report.id();
            withdrawnCycle.phase = Phase.AWAITING_KILL;
            RestartStatus ended = advance(withdrawnCycle);
            if (ended == null && withdrawnCycle.phase == Phase.AWAITING_KILL) {
                Duration wait = Duration.between(clock.instant(), report.deadline());
                wait = (wait.isNegative() ? Duration.ZERO : wait).plus(killGrace);
                withdrawnCycle.killTimer = schedule(() -> noKill(withdrawnCycle), wait);
                publish(withdrawnCycle, report.summary() + "; waiting for the container to be killed (at most "
                        + wait.toSeconds() + " s)");
            }
            tell(ended);
        }
        listeners.dispatch();
    }

    /** Holding the lock: moves the cycle as far as the last state seen allows; the ended status, or null. */
    private RestartStatus advance(Cycle current) {
        if (current.phase == Phase.WITHDRAWING) {
            return null; // the withdrawal's report moves it on
        }
        if (current.phase == Phase.AWAITING_KILL && !current.down.isEmpty()) {
            current.phase = Phase.AWAITING_READY;
            if (current.killTimer != null) {
                current.killTimer.cancel(false);
            }
        }
        if (current.phase != Phase.AWAITING_READY) {
            return null;
        }
        if (!allBack(current)) {
            publish(current, "container(s) " + current.down + " went down (" + describe(current.down, lastSeen)
                    + "); the pod stays withdrawn until they run again and are ready");
            return null;
        }
        return restoreAndEnd(current, "restored", "container(s) " + current.down + " restarted and ready again after "
                + seconds(Duration.between(current.since, clock.instant())) + " s");
    }

    private void noKill(Cycle waiting) {
        synchronized (lock) {
            if (cycle != waiting || waiting.phase != Phase.AWAITING_KILL) {
                return;
            }
            LOG.warn("no container of the pod stopped or restarted after the /prestop of {}: putting the pod back", waiting.drainId);
            tell(restoreAndEnd(waiting, "restored-without-restart",
                    "no container stopped or restarted within the deadline plus " + killGrace.toSeconds() + " s (a /prestop with no kill after it)"));
        }
        listeners.dispatch();
    }

    /** Holding the lock, so no new cycle's withdrawal can come between. */
    private RestartStatus restoreAndEnd(Cycle current, String how, String why) {
        String restored = restore.get().map(Withdrawal.Result::detail)
                .orElse("maintenance is on: the pod stays withdrawn until it ends");
        LOG.info("restart cycle {} ended: {}; {}", current.drainId, why, restored);
        return end(current, how, why + "; " + restored);
    }

    /** Holding the lock. */
    private RestartStatus end(Cycle current, String how, String detail) {
        if (current.killTimer != null) {
            current.killTimer.cancel(false);
        }
        cycle = null;
        RestartStatus ended = new RestartStatus(false, how, current.trigger, current.since, clock.instant(),
                List.copyOf(current.down), current.drainId, detail);
        status = ended;
        return ended;
    }

    /** Holding the lock. */
    private void publish(Cycle current, String detail) {
        status = new RestartStatus(true, current.phase.label, current.trigger, current.since, null, List.copyOf(current.down),
                current.drainId, detail);
    }

    /** Every container that went down is running again, restarted since the cycle's baseline, and ready. */
    private boolean allBack(Cycle current) {
        return current.down.stream().allMatch(name -> {
            ContainerState now = lastSeen.get(name);
            ContainerState before = current.baseline.get(name);
            return now != null && now.running() && now.ready() && (before == null || now.restartCount() > before.restartCount());
        });
    }

    /** The containers that restarted since {@code before}, or ran then and run no more. */
    static Set<String> wentDown(Map<String, ContainerState> before, Map<String, ContainerState> now) {
        Set<String> down = new TreeSet<>();
        now.forEach((name, state) -> {
            ContainerState was = before.get(name);
            if (was != null && (state.restartCount() > was.restartCount() || was.running() && !state.running())) {
                down.add(name);
            }
        });
        return down;
    }

    private static Map<String, ContainerState> byName(List<ContainerState> containers) {
        Map<String, ContainerState> map = new LinkedHashMap<>();
        containers.forEach(c -> map.put(c.name(), c));
        return Map.copyOf(map);
    }

    private static String describe(Set<String> names, Map<String, ContainerState> states) {
        return String.join(", ", names.stream().map(name -> {
            ContainerState state = states.get(name);
            return name + ": " + (state == null ? "gone" : (state.running() ? "running" : "not running")
                    + ", restarts " + state.restartCount() + state.lastExit().map(exit -> ", last exit " + exit).orElse(""));
        }).toList());
    }

    private ScheduledFuture<?> schedule(Runnable task, Duration after) {
        try {
            return scheduler.schedule(task, after.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            return null; // the agent is stopping
        }
    }

    /** Holding the lock: queues the end of a cycle, if it ended, for the listeners ({@code listeners.dispatch()} after it). */
    private void tell(RestartStatus ended) {
        if (ended != null) {
            listeners.enqueue("end of restart cycle " + ended.drainId(), listener -> listener.cycleEnded(ended));
        }
    }

    private static String seconds(Duration duration) {
        return String.format(java.util.Locale.ROOT, "%.1f", duration.toMillis() / 1000.0);
    }
}
