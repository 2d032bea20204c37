package io.lameduck.time;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.Future;

/**
 * The agent's one clock: it tells the time (monotonic for measuring, {@link #instant()} for reports), waits on it and
 * schedules on it. Code that waits goes through it rather than {@code Thread.sleep} or {@code TimeUnit.sleep}, so the
 * same code runs on {@link #SYSTEM} in the agent and on simulated time in tests (exact and instant).
 *
 * <p>The contract every implementation keeps:
 *
 * <ul>
 *   <li>{@link #nanoTime()} never goes back; {@link #instant()} may jump (it is the wall clock) and is for labels only.
 *   <li>{@link #sleep} returns once {@code duration} has passed on this clock, at once for zero or less; it throws
 *       {@link InterruptedException} (interrupt status cleared) when the thread is interrupted before or while it waits.
 *   <li>{@link #await} waits for another thread's work with a timeout on this clock, as {@link Future#get(long,
 *       java.util.concurrent.TimeUnit)} does on the real one: a timeout that simulated time can run out, and a wait it
 *       can see end when the work is done.
 *   <li>A thread whose waits must follow this clock is started with {@link #start}: simulated time then knows it from
 *       its first instruction, so it can tell when the thread is waiting and time may move on.
 * </ul>
 */
public interface TimeSource extends Ticker {
    /** The real clocks: {@link System#nanoTime()}, {@link Clock#systemUTC()}, real sleeps and a daemon timer thread. */
    TimeSource SYSTEM = new SystemTime();

    /** The wall-clock moment now, for reports and logs; never for measuring durations (see {@link #nanoTime()}). */
    Instant instant();

    /** Waits {@code duration} on this clock; zero or less returns at once. */
    void sleep(Duration duration) throws InterruptedException;

    /**
     * Waits until {@code future} is done (however it ended: the caller asks it how) or {@code timeout} has passed on
     * this clock, whichever comes first; true if it is done. Zero or less only looks. It throws
     * {@link InterruptedException} when the thread is interrupted while it waits.
     */
    boolean await(Future<?> future, Duration timeout) throws InterruptedException;

    /** Waits until {@code future} is done, however long that takes; see {@link #await(Future, Duration)}. */
    default void await(Future<?> future) throws InterruptedException {
        while (!await(future, Deadline.LONGEST)) {
            // a year and not done: an untimed wait waits on
        }
    }

    /**
     * Runs {@code task} once, {@code delay} from now (at once for zero or less), on a thread of the clock's own; a task
     * that throws is logged, not propagated. Short tasks only: they share that thread.
     */
    Scheduled schedule(Duration delay, Runnable task);

    /** Starts a daemon thread named {@code name} running {@code body}, whose waits on this clock are followed. */
    Thread start(String name, Runnable body);

    /** This clock's wall-clock side as a {@link Clock} (UTC), for APIs that take one. */
    default Clock wallClock() {
        TimeSource self = this;
        return new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                throw new UnsupportedOperationException("the agent's wall clock is UTC");
            }

            @Override
            public Instant instant() {
                return self.instant();
            }
        };
    }

    /** A task {@link #schedule}d to run once. */
    interface Scheduled {
        /** Keeps the task from running if it has not started; true if it will not run because of this call. */
        boolean cancel();
    }
}
