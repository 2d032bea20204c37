package io.lameduck.lifecycle;

import io.lameduck.listen.ListenerQueue;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * The one source of truth for the agent's state.
 *
 * <p>Writes happen under one lock and publish an immutable {@link LifecycleSnapshot} through a
 * volatile field, so reads never lock. Listeners are notified in transition order, after the lock
 * is released, each transition exactly once (a {@link ListenerQueue}).
 */
public final class Lifecycle {
    /** Receives every transition once, in order, never while the lifecycle lock is held. */
    @FunctionalInterface
    public interface Listener {
        void onTransition(Transition transition);
    }

    private final Object lock = new Object();
    private final Clock clock;
    private final ListenerQueue<Listener> listeners = new ListenerQueue<>(Lifecycle.class);
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
     * Moves to {@code target} if that is a legal, forward move. The listeners have heard the transition when this
     * returns, unless another thread was delivering transitions (it delivers this one next) or this is called from a
     * listener (this one follows the transition being delivered).
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
                // Queued under the lock, so listeners hear transitions in the order they happened.
                listeners.enqueue(transition.from() + " -> " + transition.to(), l -> l.onTransition(transition));
            }
        }
        listeners.dispatch();
        return moved;
    }
}
