package io.lameduck.testsupport;

import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * Simulated time for tests: exact, instant, and unable to flake. Nothing moves it but the test, with {@link #advance}.
 *
 * <p>How a test drives code that waits on other threads:
 *
 * <ol>
 *   <li>The code under test runs on threads this clock started: the test's own ({@link #run}) and those the code starts
 *       through {@link TimeSource#start} (a {@code Propagation}'s poller, for one). A {@link #sleep} on any other
 *       thread fails at once: its waits could not be followed, and the test thread would wait for itself.
 *   <li>{@link #run}, {@link #start} (from the test's thread) and {@link #advance} return only once every such thread
 *       is <b>idle</b>: sleeping on this clock, or finished. In between, the code under test is frozen, so the test
 *       may change its inputs (a scripted socket table) and read its state without races.
 *   <li>{@link #advance} moves the time forward one due moment at a time: at each, it wakes the one sleeper (or runs
 *       the one scheduled task) that is due, earliest first, then waits until all threads are idle again before it
 *       wakes the next. Sleepers due at the same moment wake in the order their threads were started; scheduled tasks
 *       due then run before them, in the order they were scheduled, on the test's thread. So one run of a test is
 *       exactly like every other.
 *   <li>A thread in {@link #await} counts as sleeping until its timeout, or until the future it waits for is done.
 *       Nothing tells it, so it looks every millisecond of real time; from the moment the future is done it is not
 *       idle, so the time stands still until it has woken. A hook's thread that finishes thus wakes the runner waiting
 *       for it at the same simulated moment.
 * </ol>
 *
 * A thread that neither sleeps on this clock nor finishes (it blocks on a queue, a socket, a latch the test holds)
 * stops the time: {@link #advance} then fails after {@link #STUCK_AFTER} of real time, naming the thread and where
 * it is. Close it at the end of the test: threads still sleeping are interrupted.
 */
public final class SimulatedTime implements TimeSource, AutoCloseable {
    /** The wall-clock moment a simulation starts at: {@link #instant()} is this plus {@link #elapsed()}. */
    public static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    /** Real time after which threads that never become idle are reported as stuck. */
    public static final Duration STUCK_AFTER = Duration.ofSeconds(10);
    /** {@link #nanoTime()} at the start: not zero, so code that treats zero as "never" is not fooled. */
    private static final long ORIGIN = 1_000_000_000L;
    private static final Duration LONGEST_SLEEP = Duration.ofDays(3650);
    /** How often (real time) a thread in {@link #await} looks whether its future is done: nothing tells it. */
    private static final long AWAIT_LOOKS_EVERY_MILLIS = 1;

    private final Object lock = new Object();
    private final Thread owner = Thread.currentThread();
    private final Map<Thread, Tracked> tracked = new LinkedHashMap<>();
    private final List<Timer> timers = new ArrayList<>();
    private volatile long elapsed; // written under lock
    private long started; // threads started, for the order of simultaneous wake-ups
    private long scheduled; // tasks scheduled, for their order
    private Throwable failure; // the first uncaught exception of a thread this clock started

    /** A thread this clock follows. */
    private static final class Tracked {
        final Thread thread;
        final long order;
        boolean sleeping;
        boolean released;
        long wakeAt;
        Future<?> awaiting; // while in await: what it waits for, besides its wake-up
        boolean finished;

        Tracked(Thread thread, long order) {
            this.thread = thread;
            this.order = order;
        }
    }

    private static final class Timer {
        final long dueAt;
        final long order;
        final Runnable task;

        Timer(long dueAt, long order, Runnable task) {
            this.dueAt = dueAt;
            this.order = order;
            this.task = task;
        }
    }

    /** Made on the test's thread: that is the one thread that may {@link #advance} it. */
    public SimulatedTime() {}

    @Override
    public long nanoTime() {
        return ORIGIN + elapsed;
    }

    @Override
    public Instant instant() {
        return START.plusNanos(elapsed);
    }

    /** How far the test has moved the time. */
    public Duration elapsed() {
        return Duration.ofNanos(elapsed);
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        if (duration.isNegative() || duration.isZero()) {
            return;
        }
        waitOnClock(duration, null);
    }

    @Override
    public boolean await(Future<?> future, Duration timeout) throws InterruptedException {
        if (future.isDone()) {
            return true;
        }
        if (timeout.isNegative() || timeout.isZero()) {
            if (Thread.interrupted()) { // as Future.get with no time to wait does
                throw new InterruptedException();
            }
            return false;
        }
        return waitOnClock(timeout, future);
    }

    /**
     * Sleeps {@code duration} on this clock, or less if {@code until} (when not null) is done first; true if it is. A
     * sleeper is released by {@link #advance}; an awaiting one also wakes itself when it sees its future done.
     */
    private boolean waitOnClock(Duration duration, Future<?> until) throws InterruptedException {
        Thread thread = Thread.currentThread();
        synchronized (lock) {
            Tracked me = tracked.get(thread);
            if (me == null) {
                throw new IllegalStateException(thread == owner
                        ? "the test's own thread sleeps on simulated time, so nothing can advance it: run the code under test with run(...)"
                        : "thread " + thread.getName() + " was not started by this SimulatedTime, so its waits cannot be followed: start it with start(...)");
            }
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            // Capped far beyond any test, so the sum cannot overflow.
            me.wakeAt = elapsed + (duration.compareTo(LONGEST_SLEEP) > 0 ? LONGEST_SLEEP : duration).toNanos();
            me.released = false;
            me.awaiting = until;
            me.sleeping = true;
            lock.notifyAll();
            try {
                while (!me.released && (until == null || !until.isDone())) {
                    if (until == null) {
                        lock.wait();
                    } else {
                        lock.wait(AWAIT_LOOKS_EVERY_MILLIS);
                    }
                }
            } catch (InterruptedException e) {
                me.sleeping = false;
                me.awaiting = null;
                lock.notifyAll();
                throw e;
            }
            me.sleeping = false; // already, if advance released it
            me.awaiting = null;
            return until == null || until.isDone();
        }
    }

    @Override
    public Scheduled schedule(Duration delay, Runnable task) {
        synchronized (lock) {
            long nanos = delay.isNegative() ? 0 : delay.toNanos();
            Timer timer = new Timer(elapsed + nanos, scheduled++, task);
            timers.add(timer);
            return () -> {
                synchronized (lock) {
                    return timers.remove(timer);
                }
            };
        }
    }

    @Override
    public Thread start(String name, Runnable body) {
        Thread thread;
        synchronized (lock) {
            Tracked[] me = new Tracked[1];
            thread = new Thread(() -> {
                try {
                    body.run();
                } catch (Throwable e) { // reported by the next advance, not lost in a thread's log
                    synchronized (lock) {
                        failure = failure == null ? e : failure;
                    }
                } finally {
                    synchronized (lock) {
                        me[0].finished = true;
                        lock.notifyAll();
                    }
                }
            }, name);
            thread.setDaemon(true);
            me[0] = new Tracked(thread, started++);
            tracked.put(thread, me[0]);
        }
        thread.start();
        if (Thread.currentThread() == owner) {
            synchronized (lock) {
                awaitIdle();
            }
        }
        return thread;
    }

    /** What {@link #run} runs: its result once it finished. */
    public static final class Task<T> {
        private final String name;
        private volatile boolean done;
        private volatile T result;
        private volatile Throwable thrown;

        private Task(String name) {
            this.name = name;
        }

        public boolean isDone() {
            return done;
        }

        /** Its result; fails (never blocks) if it has not finished yet, and rethrows what it threw. */
        public T result() throws Exception {
            if (!done) {
                throw new AssertionError(name + " has not finished: advance the time further");
            }
            if (thrown instanceof Exception e) {
                throw e;
            }
            if (thrown instanceof Error e) {
                throw e;
            }
            return result;
        }
    }

    /** Runs {@code body} on a thread of its own, as the code under test; returns once every thread is idle. */
    public <T> Task<T> run(String name, Callable<T> body) {
        Task<T> task = new Task<>(name);
        start(name, () -> {
            try {
                task.result = body.call();
            } catch (Throwable e) {
                task.thrown = e;
            } finally {
                task.done = true;
            }
        });
        return task;
    }

    /**
     * Moves the time {@code by} forward, waking what comes due on the way one at a time (see the class comment), and
     * returns once every thread is idle. Only from the test's thread.
     */
    public void advance(Duration by) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("only the test's thread advances simulated time");
        }
        if (by.isNegative()) {
            throw new IllegalArgumentException("time does not go back: " + by);
        }
        long target;
        synchronized (lock) {
            awaitIdle();
            target = elapsed + by.toNanos();
        }
        while (true) {
            Timer timer;
            synchronized (lock) {
                timer = timers.stream().filter(t -> t.dueAt <= target).min(Comparator.comparingLong((Timer t) -> t.dueAt)
                        .thenComparingLong(t -> t.order)).orElse(null);
                Tracked sleeper = tracked.values().stream().filter(t -> t.sleeping && t.wakeAt <= target)
                        .min(Comparator.comparingLong((Tracked t) -> t.wakeAt).thenComparingLong(t -> t.order)).orElse(null);
                if (timer == null && sleeper == null) {
                    elapsed = target;
                    return;
                }
                if (timer == null || (sleeper != null && sleeper.wakeAt < timer.dueAt)) {
                    elapsed = Math.max(elapsed, sleeper.wakeAt);
                    sleeper.sleeping = false;
                    sleeper.released = true;
                    lock.notifyAll();
                    awaitIdle();
                    continue;
                }
                timers.remove(timer);
                elapsed = Math.max(elapsed, timer.dueAt);
            }
            timer.task.run(); // outside the lock: it may wake or start threads
            synchronized (lock) {
                awaitIdle();
            }
        }
    }

    /** Waits (real time, bounded) until every thread this clock started sleeps on it or has finished. */
    private void awaitIdle() {
        long giveUp = System.nanoTime() + STUCK_AFTER.toNanos();
        while (true) {
            tracked.values().removeIf(t -> t.finished);
            List<Tracked> busy = tracked.values().stream().filter(t -> !idle(t)).toList();
            if (failure != null) {
                Throwable thrown = failure;
                failure = null;
                throw new AssertionError("a thread on simulated time failed", thrown);
            }
            if (busy.isEmpty()) {
                return;
            }
            if (System.nanoTime() - giveUp >= 0) {
                throw new IllegalStateException("simulated time is stuck at " + elapsed() + ": after " + STUCK_AFTER
                        + " of real time these threads neither sleep on it nor have finished:\n" + busy.stream()
                                .map(t -> t.thread.getName() + " (" + t.thread.getState() + ")\n\tat " + List.of(t.thread.getStackTrace()).stream()
                                        .map(String::valueOf).collect(Collectors.joining("\n\tat ")))
                                .collect(Collectors.joining("\n")));
            }
            try {
                lock.wait(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the threads on simulated time", e);
            }
        }
    }

    /**
     * Asleep on this clock and staying so: in {@code lock.wait()} (a thread that was interrupted, or woke spuriously,
     * is leaving its sleep), or in {@link #await}'s timed {@code lock.wait} for a future not yet done — or finished.
     * Called with the lock held, so a sleeper cannot leave its wait meanwhile.
     */
    private static boolean idle(Tracked t) {
        if (t.finished) {
            return true;
        }
        if (!t.sleeping || t.thread.isInterrupted()) {
            return false;
        }
        return t.awaiting == null
                ? t.thread.getState() == Thread.State.WAITING
                : !t.awaiting.isDone() && t.thread.getState() == Thread.State.TIMED_WAITING;
    }

    /** Interrupts the threads still on this clock (sleeping pollers the test left behind). */
    @Override
    public void close() {
        synchronized (lock) {
            tracked.values().forEach(t -> t.thread.interrupt());
        }
    }
}
