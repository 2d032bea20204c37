package io.lameduck.testsupport;

import io.lameduck.time.TimeSource;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An {@link java.util.concurrent.ExecutorService} for code under test on {@link SimulatedTime} (a drain's hook
 * executor): every task runs on a new thread the clock starts ({@link TimeSource#start}), so the clock follows the
 * task's waits. A pool would not do: its idle workers block on the pool's queue, which simulated time takes for stuck
 * threads. Futures are the executor's usual ones: cancelling one interrupts the task's thread.
 */
public final class SimulatedExecutor extends AbstractExecutorService {
    private final TimeSource time;
    private final String name;
    private final AtomicInteger started = new AtomicInteger();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private volatile boolean shutdown;

    /** @param name the threads are called {@code name-1}, {@code name-2}, ... */
    public SimulatedExecutor(TimeSource time, String name) {
        this.time = time;
        this.name = name;
    }

    @Override
    public void execute(Runnable task) {
        if (shutdown) {
            throw new RejectedExecutionException(name + " is shut down");
        }
        threads.add(time.start(name + "-" + started.incrementAndGet(), task));
    }

    @Override
    public void shutdown() {
        shutdown = true;
    }

    /** Interrupts the tasks still running; none ever waits in a queue. */
    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        threads.stream().filter(Thread::isAlive).forEach(Thread::interrupt);
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown && threads.stream().noneMatch(Thread::isAlive);
    }

    /** Waits in real time: for a test's clean-up, never for the code under test. */
    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        long giveUp = System.nanoTime() + unit.toNanos(timeout);
        for (Thread thread : threads) {
            long left = giveUp - System.nanoTime();
            if (left > 0) {
                TimeUnit.NANOSECONDS.timedJoin(thread, left);
            }
        }
        return isTerminated();
    }
}
