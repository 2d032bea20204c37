package io.lameduck.lifecycle;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one source of truth for the agent's state.
 *
 * <p>Writes happen under one lock and publish an immutable {@link LifecycleSnapshot} through a
 * volatile field, so reads never lock. Listeners are notified in transition order, after the lock
 * is released, each transition exactly once.
 */
public final class Lifecycle {
    /** Receives every transition once, in order, never while the lifecycle lock is held. */
    @FunctionalInterface
    public interface Listener {
        void onTransition(Transition transition);
    }

    private static final Logger LOG = LoggerFactory.getLogger(Lifecycle.class);

    private final Object lock = new Object();
    private final Object dispatchLock = new Object();
    private final Clock clock;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<Transition> pending = new ArrayList<>(); // guarded by lock
    private volatile LifecycleSnapshot snapshot = new LifecycleSnapshot(State.CREATED, List.of());

    public Lifecycle(Clock clock) {
        this.clock = clock;
    }

    public Lifecycle() {
        this(Clock.systemUTC());
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    public LifecycleSnapshot snapshot() {
        return snapshot;
    }

    public State state() {
        return snapshot.state();
    }

    /**
     * Moves to {@code target} if that is a legal, forward move.
     *
     * @return true if this call changed the state; false if the state is already at or past the
     *     target (a later trigger joining an earlier one is not an error)
     */
    public boolean moveTo(State target, String reason) {
        boolean moved;
        synchronized (lock) {
            LifecycleSnapshot current = snapshot;
            moved = current.state().canMoveTo(target);
            if (moved) {
                Transition transition = new Transition(current.state(), target, clock.instant(), reason);
                List<Transition> history = new ArrayList<>(current.history());
                history.add(transition);
                snapshot = new LifecycleSnapshot(target, history);
                pending.add(transition);
            }
        }
        dispatchPending();
        return moved;
    }

    /** Delivers queued transitions in order; the dispatch lock keeps concurrent movers from reordering them. */
    private void dispatchPending() {
        synchronized (dispatchLock) {
            List<Transition> batch;
            synchronized (lock) {
                batch = List.copyOf(pending);
                pending.clear();
            }
            for (Transition transition : batch) {
                for (Listener listener : listeners) {
                    try {
                        listener.onTransition(transition);
                    } catch (RuntimeException e) {
                        LOG.warn("lifecycle listener {} failed on {} -> {}: {}",
                                listener, transition.from(), transition.to(), e.toString());
                    }
                }
            }
        }
    }
}
