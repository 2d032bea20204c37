package io.lameduck.drain;

import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maintenance mode: the pod leaves Service endpoints at runtime, with a reason and an optional TTL,
 * while the agent stays READY. Uses the same withdrawal strategy as the drain; persisted through a
 * {@link MaintenanceStore} so a restarted agent restores it.
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
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final List<DrainListener> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private volatile MaintenanceStatus status = MaintenanceStatus.OFF;
    private ScheduledFuture<?> expiry; // guarded by lock

    public Maintenance(Lifecycle lifecycle, Withdrawal withdrawal, Duration withdrawTimeout, MaintenanceStore store,
            ScheduledExecutorService scheduler, Clock clock) {
        this.lifecycle = lifecycle;
        this.withdrawal = withdrawal;
        this.withdrawTimeout = withdrawTimeout;
        this.store = store;
        this.scheduler = scheduler;
        this.clock = clock;
    }

    public void addListener(DrainListener listener) {
        listeners.add(listener);
    }

    public MaintenanceStatus status() {
        return status;
    }

    public boolean isActive() {
        return status.active();
    }

    /** Enters maintenance (or renews it with a new reason and TTL). Only while READY. */
    public MaintenanceStatus enter(String reason, Optional<Duration> ttl) throws NotAllowedException, InterruptedException {
        requireReady("enter");
        return enterUntil(reason, ttl.map(d -> clock.instant().plus(d)));
    }

    /**
     * Restores a persisted maintenance found at start-up (before READY, so readiness never flaps to 200);
     * an already expired one is simply ended.
     */
    public MaintenanceStatus restore(MaintenanceStatus persisted) throws InterruptedException {
        if (persisted.expiresAt() != null && !persisted.expiresAt().isAfter(clock.instant())) {
            LOG.info("persisted maintenance ({}) expired at {} while the agent was down; not restoring it",
                    persisted.reason(), persisted.expiresAt());
            store.save(MaintenanceStatus.OFF);
            return status;
        }
        return enterUntil(persisted.reason(), Optional.ofNullable(persisted.expiresAt()));
    }

    private MaintenanceStatus enterUntil(String reason, Optional<Instant> expiresAt) throws InterruptedException {
        Withdrawal.Result result = withdrawal.withdraw(withdrawTimeout);
        MaintenanceStatus entered;
        synchronized (lock) {
            Instant since = status.active() ? status.since() : clock.instant();
            entered = new MaintenanceStatus(true, reason, since, expiresAt.orElse(null), result.detail());
            status = entered;
            if (expiry != null) {
                expiry.cancel(false);
                expiry = null;
            }
            expiresAt.ifPresent(at -> {
                long delayNanos = Math.max(0, Duration.between(clock.instant(), at).toNanos());
                expiry = scheduler.schedule(() -> expire(entered), delayNanos, TimeUnit.NANOSECONDS);
            });
        }
        LOG.info("maintenance on: {} (until {}); {}", reason, expiresAt.map(Instant::toString).orElse("turned off"), result.detail());
        changed(entered);
        return entered;
    }

    /** Leaves maintenance; a no-op when it is not active. */
    public MaintenanceStatus exit(String why) throws NotAllowedException {
        if (!status.active()) {
            return status;
        }
        requireReady("leave");
        return end(why);
    }

    private void expire(MaintenanceStatus expected) {
        if (status != expected) {
            return; // renewed or ended meanwhile
        }
        if (lifecycle.state() != State.READY) {
            return; // a drain owns the withdrawal now; restoring would put the pod back into service
        }
        end("TTL expired");
    }

    private MaintenanceStatus end(String why) {
        Withdrawal.Result result = withdrawal.restore();
        MaintenanceStatus ended;
        synchronized (lock) {
            if (expiry != null) {
                expiry.cancel(false);
                expiry = null;
            }
            ended = new MaintenanceStatus(false, why, clock.instant(), null, result.detail());
            status = ended;
        }
        LOG.info("maintenance off: {}; {}", why, result.detail());
        changed(ended);
        return ended;
    }

    private void changed(MaintenanceStatus changed) {
        store.save(changed);
        for (DrainListener listener : listeners) {
            try {
                listener.maintenanceChanged(changed);
            } catch (RuntimeException e) {
                LOG.warn("maintenance listener failed: {}", e.toString());
            }
        }
    }

    private void requireReady(String verb) throws NotAllowedException {
        State state = lifecycle.state();
        if (state != State.READY) {
            throw new NotAllowedException("cannot " + verb + " maintenance in state " + state
                    + ": maintenance is only valid while READY (a drain has started or the agent is not ready yet)");
        }
    }
}
