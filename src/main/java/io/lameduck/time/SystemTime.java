package io.lameduck.time;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link TimeSource#SYSTEM}: the JVM's clocks, real sleeps and waits, and one daemon timer thread, started when first needed. */
final class SystemTime implements TimeSource {
    private static final Logger LOG = LoggerFactory.getLogger(SystemTime.class);
    private final Clock wall = Clock.systemUTC();

    /** Holder idiom: the timer thread starts only when something is first scheduled. */
    private static final class Timer {
        static final ScheduledExecutorService EXECUTOR = create();

        private static ScheduledExecutorService create() {
            ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
                Thread thread = new Thread(task, "lameduck-clock");
                thread.setDaemon(true);
                return thread;
            });
            executor.setRemoveOnCancelPolicy(true); // a cancelled TTL leaves nothing queued
            return executor;
        }
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public Instant instant() {
        return wall.instant();
    }

    @Override
    public Clock wallClock() {
        return wall;
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        if (duration.isNegative() || duration.isZero()) {
            return;
        }
        TimeUnit.NANOSECONDS.sleep(saturatedNanos(duration));
    }

    @Override
    public boolean await(Future<?> future, Duration timeout) throws InterruptedException {
        try {
            future.get(timeout.isNegative() ? 0 : saturatedNanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException | CancellationException e) {
            // done all the same: how it ended is the caller's to ask
        }
        return true;
    }

    @Override
    public void await(Future<?> future) throws InterruptedException {
        try {
            future.get();
        } catch (ExecutionException | CancellationException e) {
            // done all the same: how it ended is the caller's to ask
        }
    }

    @Override
    public Scheduled schedule(Duration delay, Runnable task) {
        ScheduledFuture<?> future = Timer.EXECUTOR.schedule(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.error("scheduled task {} failed", task, e);
            }
        }, Math.max(0, saturatedNanos(delay)), TimeUnit.NANOSECONDS);
        return () -> future.cancel(false);
    }

    @Override
    public Thread start(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** Without {@link Duration#toNanos()}'s overflow past 292 years. */
    static long saturatedNanos(Duration duration) {
        return duration.compareTo(Deadline.LONGEST) > 0 ? Deadline.LONGEST.toNanos() : duration.toNanos();
    }
}
