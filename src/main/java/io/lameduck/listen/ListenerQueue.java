package io.lameduck.listen;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers a producer's events to its listeners: in the order they were queued, never while the producer's lock is
 * held, each listener's failure contained. After Guava's {@code ListenerCallQueue}; the one way Lameduck calls
 * listeners ({@code Lifecycle}, {@code Maintenance}, {@code DrainCoordinator}).
 *
 * <p>The producer's side, in two halves:
 * <ol>
 *   <li>{@link #enqueue} while holding its own lock, at the change itself, so the queue's order is the order of the
 *       changes whichever threads made them;
 *   <li>{@link #dispatch} after releasing that lock (never holding any), so a listener may read the producer, change it
 *       (its event is queued behind the one being delivered) or take its lock on another thread without a deadlock.
 * </ol>
 * A producer that holds no lock calls {@link #deliver}, both at once.
 *
 * <p>The contract:
 * <ul>
 *   <li>Each event reaches every listener once, in queue order: all listeners hear one event before any hears the
 *       next, also when a listener queues an event itself.
 *   <li>One thread delivers at a time. A {@code dispatch} that finds another thread delivering returns at once and
 *       leaves its events to that thread, which delivers them before it returns: no thread waits for another's
 *       listeners (no lock-order deadlock through the queue). So when {@code dispatch} returns, the caller's events have
 *       been delivered, unless another thread was delivering then (it will, in order) or the caller is itself a listener
 *       (its event follows the one being delivered).
 *   <li>A listener that throws a {@link RuntimeException} or an {@link Error} is logged (WARN, with the listener, the
 *       event and the stack) under the producer's logger, and the other listeners and later events are still
 *       delivered. Errors too, unlike Guava, and {@link VirtualMachineError}s among them: producers must make progress
 *       (a drain whose {@code drainStarted} listener overflowed its stack must still complete its future, or the
 *       signal handler waiting for it never stops the agent); the listener's stack is unwound by then, and a real heap
 *       exhaustion ends the JVM before anything is thrown to us ({@code -XX:+ExitOnOutOfMemoryError}).
 *   <li>Listeners are read at delivery: one added meanwhile hears the events not yet delivered. Add them before the
 *       producer starts.
 * </ul>
 * Listeners must not block long: they hold up the producer that happens to deliver, and every later event.
 *
 * @param <L> the listener type
 */
public final class ListenerQueue<L> {
    private record Event<L>(String label, Consumer<? super L> call) {}

    private final Logger log;
    private final String producer;
    private final List<L> listeners = new CopyOnWriteArrayList<>();
    private final Queue<Event<L>> pending = new ArrayDeque<>(); // guarded by itself
    private boolean dispatching; // guarded by pending

    /** @param producer the class whose events these are: failures are logged under its logger, naming it */
    public ListenerQueue(Class<?> producer) {
        this.log = LoggerFactory.getLogger(producer);
        this.producer = producer.getSimpleName();
    }

    public void add(L listener) {
        listeners.add(listener);
    }

    /**
     * Queues {@code call} for every listener; call it holding the producer's lock. Delivered by the next {@link #dispatch}.
     *
     * @param event what happened, for the log line of a listener that fails on it
     */
    public void enqueue(String event, Consumer<? super L> call) {
        synchronized (pending) {
            pending.add(new Event<>(event, call));
        }
    }

    /** Delivers every queued event in order, unless another thread is doing it (then that thread delivers them). */
    public void dispatch() {
        synchronized (pending) {
            if (dispatching) {
                return;
            }
            dispatching = true;
        }
        boolean emptied = false;
        try {
            for (Event<L> next = nextOrStop(); next != null; next = nextOrStop()) {
                callEach(next);
            }
            emptied = true;
        } finally {
            if (!emptied) {
                // Only a checked exception thrown sneakily gets here; without this, no event would ever be delivered again.
                synchronized (pending) {
                    dispatching = false;
                }
            }
        }
    }

    /** {@link #enqueue} and {@link #dispatch} at once, for a producer that holds no lock. */
    public void deliver(String event, Consumer<? super L> call) {
        enqueue(event, call);
        dispatch();
    }

    /** The next event, or null once the queue is empty, clearing {@code dispatching} in the same step. */
    private Event<L> nextOrStop() {
        synchronized (pending) {
            Event<L> next = pending.poll();
            if (next == null) {
                dispatching = false; // atomically with the empty check: an event queued after it finds no dispatcher
            }
            return next;
        }
    }

    private void callEach(Event<L> event) {
        for (L listener : listeners) {
            try {
                event.call().accept(listener);
            } catch (RuntimeException | Error e) {
                log.warn("{} listener {} failed on {}: {}", producer, listener.getClass().getName(), event.label(), e.toString(), e);
            }
        }
    }
}
