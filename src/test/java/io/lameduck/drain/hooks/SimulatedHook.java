package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.drain.Hook;
import io.lameduck.testsupport.SimulatedTime;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A hook run on {@link SimulatedTime} as {@code HookRunner} runs it, on a thread of its own (one the clock follows),
 * and the checks the hook tests make on it: the exact moment it ends, and how it ends when interrupted.
 */
final class SimulatedHook {
    private SimulatedHook() {}

    /** Starts {@code hook} with {@code budget}; returns once its thread sleeps on {@code time} or has finished. */
    static SimulatedTime.Task<Void> run(SimulatedTime time, Hook hook, Duration budget) {
        return time.run("hook-" + hook.name(), () -> {
            hook.run(budget);
            return null;
        });
    }

    /** Advances to a nanosecond before {@code at}, checks the hook still runs, then to {@code at}, where it has ended. */
    static void endsAt(SimulatedTime time, SimulatedTime.Task<Void> hook, Duration at) {
        time.advance(at.minus(time.elapsed()).minusNanos(1));
        assertThat(hook.isDone()).as("still running at %s", time.elapsed()).isFalse();
        time.advance(Duration.ofNanos(1));
        assertThat(hook.isDone()).as("done at %s", at).isTrue();
    }

    /**
     * Runs {@code hook} with {@code budget} until {@code at}, interrupts its thread there, and returns what it threw
     * (null if it returned) once that thread has finished; the time has not moved past {@code at}.
     */
    static Throwable interruptedAt(SimulatedTime time, Hook hook, Duration budget, Duration at) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread running = time.start("hook-" + hook.name(), () -> {
            try {
                hook.run(budget);
            } catch (Exception e) {
                failure.set(e);
            }
        });
        time.advance(at.minus(time.elapsed()));

        running.interrupt();
        time.advance(Duration.ZERO); // returns once the hook's thread has finished

        assertThat(time.elapsed()).isEqualTo(at);
        return failure.get();
    }
}
