package io.lameduck.drain;

import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/** Hooks with scripted behaviour for engine tests (the real hook kinds are tested in drain.hooks). */
final class TestHooks {
    /** Longer than any drain: a hook that waits this long waits until it is cancelled. */
    private static final Duration FOREVER = Duration.ofDays(365);

    private TestHooks() {}

    /** Records when it ran, in a shared journal, optionally failing. */
    record Scripted(String name, int priority, Duration timeout, boolean abortsDrainOnFailure, Behaviour behaviour,
            List<String> journal) implements Hook {
        @Override
        public String kind() {
            return "test";
        }

        @Override
        public void run(Duration budget) throws HookFailedException, InterruptedException {
            journal.add("start " + name);
            try {
                behaviour.run();
            } finally {
                journal.add("end " + name);
            }
        }
    }

    /** The same hook, configured {@code at: trigger}. */
    record AtTrigger(Hook hook) implements Hook {
        @Override
        public String name() {
            return hook.name();
        }

        @Override
        public String kind() {
            return hook.kind();
        }

        @Override
        public int priority() {
            return hook.priority();
        }

        @Override
        public Duration timeout() {
            return hook.timeout();
        }

        @Override
        public boolean atTrigger() {
            return true;
        }

        @Override
        public boolean abortsDrainOnFailure() {
            return hook.abortsDrainOnFailure();
        }

        @Override
        public void run(Duration budget) throws HookFailedException, InterruptedException {
            hook.run(budget);
        }
    }

    @FunctionalInterface
    interface Behaviour {
        void run() throws HookFailedException, InterruptedException;
    }

    static Behaviour succeed() {
        return () -> { };
    }

    static Behaviour fail(String message) {
        return () -> {
            throw new HookFailedException(message);
        };
    }

    static Behaviour crash() {
        return () -> {
            throw new IllegalStateException("hook bug");
        };
    }

    /**
     * Waits on {@code time} until interrupted, and counts the interruption so tests can prove the cancellation. On
     * {@code time}, not on a latch: simulated time must see the hook wait, or it takes the hook's thread for stuck.
     */
    static Behaviour hang(TimeSource time, CountDownLatch interrupted) {
        return () -> {
            try {
                time.sleep(FOREVER);
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
            }
        };
    }

    /** Works for {@code duration} on {@code time}, then succeeds. */
    static Behaviour takes(TimeSource time, Duration duration) {
        return () -> time.sleep(duration);
    }

    static List<String> journal() {
        return new CopyOnWriteArrayList<>();
    }
}
