package io.lameduck.maintenance;

import io.lameduck.drain.Withdrawal;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.listen.ListenerQueue;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maintenance mode: the pod leaves Service endpoints at runtime, with a reason and an optional TTL,
 * while the agent stays READY. Uses the same withdrawal strategy as the drain; persisted through a
 * {@link MaintenanceStore} so a restarted agent restores it.
 *
 * <p>A drain supersedes maintenance ({@link #supersedeByDrain}): from then on the drain owns the withdrawal, maintenance
 * is off ("superseded by the drain") and cannot be changed, and neither its TTL nor a request puts the pod back.
 *
 * <p>Each change (enter, exit, TTL expiry, restore at start-up, supersession) runs whole under one lock: the withdrawal or
 * restore, the new status and its persistence. So changes never interleave, and the published status is always
 * the last change's, matching what was done to the pod. Reads never lock (an immutable status in a volatile
 * field); listeners are called after the lock is released, once per change, in the order of the changes (a
 * {@link ListenerQueue}).
 *
 * <p>The TTL is kept on a {@link TimeSource} ({@link TimeSource#SYSTEM} in the agent): its timer only hands the expiry
 * to the executor the changes run on, since an expiry is a change like any other (a restore API call, under the lock).
 */
public final class Maintenance {
    private static final Logger LOG = LoggerFactory.getLogger(Maintenance.class);

    /** Maintenance cannot change in the current lifecycle state. */
    public static final class NotAllowedException extends Exception {
        private static final long serialVersionUID = 1L;

        NotAllowedException(String message) {
            super(message);
        }
    }

    private final Lifecycle lifecycle;
    private final Withdrawal withdrawal;
    private final Duration withdrawTimeout;
    private final MaintenanceStore store;
    private final Executor executor;
    private final TimeSource time;
    private final ListenerQueue<MaintenanceListener> listeners = new ListenerQueue<>(Maintenance.class);
    /** Held for a whole change, withdrawal API calls included; never while calling listeners. */
    private final ReentrantLock changes = new ReentrantLock();
    private volatile MaintenanceStatus status = MaintenanceStatus.OFF; // written only holding changes
    private TimeSource.Scheduled expiry; // guarded by changes

    /**
     * {@code executor} runs the changes nobody waits for (a TTL's expiry, a drain's supersession); {@code time} keeps the
     * TTL and tells the instants of the status.
     */
    public Maintenance(Lifecycle lifecycle, Withdrawal withdrawal, Duration withdrawTimeout, MaintenanceStore store,
            Executor executor, TimeSource time) {
        this.lifecycle = lifecycle;
        this.withdrawal = withdrawal;
        this.withdrawTimeout = withdrawTimeout;
        this.store = store;
        this.executor = executor;
        this.time = time;
    }

    public void addListener(MaintenanceListener listener) {
        listeners.add(listener);
    }

    public MaintenanceStatus status() {
        return status;
    }

    public boolean isActive() {
        return status.active();
    }

    /**
     * Marks the pod serving ({@link Withdrawal#restore}) unless maintenance is on (then empty). Under the lock of every
     * maintenance change: a late retry of the start-up mark can never undo a maintenance withdrawal made meanwhile. A
     * drain needs no lock here: the withdrawal refuses restores from DRAINING on.
     */
    public Optional<Withdrawal.Result> markServingUnlessActive() {
        changes.lock();
        try {
            return status.active() ? Optional.empty() : Optional.of(withdrawal.restore());
        } finally {
            changes.unlock();
        }
    }

    /** Enters maintenance (or renews it with a new reason and TTL). Only while READY. */
    public MaintenanceStatus enter(String reason, Optional<Duration> ttl) throws NotAllowedException, InterruptedException {
        changes.lockInterruptibly();
        try {
            requireReady("enter");
            return enterFor(reason, ttl);
        } finally {
            changes.unlock();
            listeners.dispatch();
        }
    }

    /**
     * Restores a persisted maintenance found at start-up (before READY, so readiness never flaps to 200);
     * an already expired one is simply ended, and none is restored once a drain has begun (it owns the withdrawal).
     */
    public MaintenanceStatus restore(MaintenanceStatus persisted) throws InterruptedException {
        changes.lockInterruptibly();
        try {
            if (drainBegan()) {
                LOG.info("not restoring persisted maintenance ({}): a drain has begun", persisted.reason());
                return status;
            }
            if (persisted.expiresAt() != null && !persisted.expiresAt().isAfter(time.instant())) {
                LOG.info("persisted maintenance ({}) expired at {} while the agent was down; not restoring it",
                        persisted.reason(), persisted.expiresAt());
                store.save(MaintenanceStatus.OFF);
                return status;
            }
            // The one place the wall clock decides: the expiry was persisted as an instant across the restart.
            return enterFor(persisted.reason(), Optional.ofNullable(persisted.expiresAt()).map(at -> Duration.between(time.instant(), at)));
        } finally {
            changes.unlock();
            listeners.dispatch();
        }
    }

    /** Leaves maintenance; a no-op when it is not active. Waits for a change in progress to finish first. */
    public MaintenanceStatus exit(String why) throws NotAllowedException {
        changes.lock();
        try {
            if (!status.active()) {
                return status;
            }
            requireReady("leave");
            return end(why);
        } finally {
            changes.unlock();
            listeners.dispatch();
        }
    }

    /**
     * A drain has begun (the lifecycle reached DRAINING): maintenance ends, superseded by the drain, which owns the
     * withdrawal from now on. Nothing is restored: the pod stays withdrawn. Returns at once; the change runs on the
     * executor, because a change in progress (a withdrawal API call of up to the withdraw timeout) holds the lock and
     * the drain must not wait for it. A change that checked READY before the drain began finishes first and is then
     * superseded; any later one is refused (409), so the status ends up off whatever the order.
     *
     * <p>The persisted maintenance is left as it is: it is the operator's intent, which an agent restarted on a pod that
     * is not being deleted (its container restarted) restores.
     */
    public void supersedeByDrain() {
        later(this::supersede, "maintenance not superseded: the agent is stopping");
    }

    private void later(Runnable change, String whenRejected) {
        try {
            executor.execute(change);
        } catch (RejectedExecutionException e) {
            LOG.debug(whenRejected);
        }
    }

    private void supersede() {
        changes.lock();
        try {
            if (!status.active()) {
                return;
            }
            cancelExpiry();
            MaintenanceStatus superseded = new MaintenanceStatus(false, "superseded by the drain (maintenance was: " + status.reason() + ")",
                    time.instant(), null, "the drain owns the withdrawal: the pod stays withdrawn, and maintenance can no longer change");
            LOG.info("maintenance off: {}", superseded.reason());
            status = superseded;
            queue(superseded); // not saved: see supersedeByDrain
        } finally {
            changes.unlock();
            listeners.dispatch();
        }
    }

    private void expire(MaintenanceStatus expected) {
        changes.lock();
        try {
            if (status != expected) {
                return; // renewed or ended meanwhile
            }
            if (lifecycle.state() != State.READY) {
                return; // a drain owns the withdrawal now; restoring would put the pod back into service
            }
            end("TTL expired");
        } finally {
            changes.unlock();
            listeners.dispatch();
        }
    }

    /**
     * Withdraws and enters maintenance for {@code ttl}, counted from now on the monotonic clock: the withdrawal's own
     * time is part of it, and a wall-clock jump meanwhile (NTP stepping the clock during a 10 s API call) changes
     * nothing. The wall clock only names the expiry instant in the status and the persisted annotation.
     */
    private MaintenanceStatus enterFor(String reason, Optional<Duration> ttl) throws InterruptedException {
        long startedNanos = time.nanoTime();
        Optional<Instant> expiresAt = ttl.map(time.instant()::plus);
        Withdrawal.Result result = withdrawal.withdraw(withdrawTimeout);
        Instant since = status.active() ? status.since() : time.instant();
        MaintenanceStatus entered = new MaintenanceStatus(true, reason, since, expiresAt.orElse(null), result.detail());
        cancelExpiry();
        ttl.ifPresent(d -> {
            Duration left = d.minusNanos(time.nanoTime() - startedNanos);
            expiry = time.schedule(left, () -> later(() -> expire(entered), "maintenance not expired: the agent is stopping"));
        });
        LOG.info("maintenance on: {} (until {}); {}", reason, expiresAt.map(Instant::toString).orElse("turned off"), result.detail());
        publish(entered);
        return entered;
    }

    private MaintenanceStatus end(String why) {
        Withdrawal.Result result = withdrawal.restore();
        cancelExpiry();
        MaintenanceStatus ended = new MaintenanceStatus(false, why, time.instant(), null, result.detail());
        LOG.info("maintenance off: {}; {}", why, result.detail());
        publish(ended);
        return ended;
    }

    private void cancelExpiry() {
        if (expiry != null) {
            expiry.cancel();
            expiry = null;
        }
    }

    /** Holding {@code changes}: makes {@code changed} the status, persists it, queues it for the listeners. */
    private void publish(MaintenanceStatus changed) {
        status = changed;
        store.save(changed);
        queue(changed);
    }

    /** Holding {@code changes}: queues {@code changed} for the listeners, delivered once the lock is released. */
    private void queue(MaintenanceStatus changed) {
        listeners.enqueue("maintenance " + (changed.active() ? "on" : "off") + ": " + changed.reason(),
                l -> l.maintenanceChanged(changed));
    }

    private boolean drainBegan() {
        return lifecycle.state().servingIsOver();
    }

    private void requireReady(String verb) throws NotAllowedException {
        State state = lifecycle.state();
        if (state != State.READY) {
            throw new NotAllowedException("cannot " + verb + " maintenance in state " + state
                    + ": maintenance is only valid while READY (a drain has started or the agent is not ready yet)");
        }
    }
}
