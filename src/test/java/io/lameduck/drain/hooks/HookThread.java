package io.lameduck.drain.hooks;

import io.lameduck.drain.Hook;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** Runs a hook on its own thread, as HookRunner does, and records how it ended. */
final class HookThread {
    private final CountDownLatch done = new CountDownLatch(1);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;

    private HookThread(Hook hook, Duration budget) {
        thread = new Thread(() -> {
            try {
                hook.run(budget);
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                done.countDown();
            }
        }, "hook-" + hook.name());
        thread.setDaemon(true);
    }

    static HookThread start(Hook hook, Duration budget) {
        HookThread running = new HookThread(hook, budget);
        running.thread.start();
        return running;
    }

    void interrupt() {
        thread.interrupt();
    }

    boolean isDone() {
        return done.getCount() == 0;
    }

    boolean awaitDone(Duration timeout) throws InterruptedException {
        return done.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** What the hook threw, or null if it returned normally. */
    Throwable failure() {
        return failure.get();
    }
}
