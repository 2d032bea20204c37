package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.time.Deadline;
import io.lameduck.time.TimeSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HookRunnerTest {
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    /**
     * The system clock's waits with a monotonic clock the hooks move by hand: a hook reaches its budget on it and
     * gives up at once, in no real time, so its own failure and the runner's timeout race as on a busy agent. (On
     * simulated time the runner, due at the same moment, always wakes first; both orders must end timed_out.)
     */
    private static final class HandMovedClock implements TimeSource {
        final AtomicLong now = new AtomicLong(1_000);

        @Override
        public long nanoTime() {
            return now.get();
        }

        @Override
        public Instant instant() {
            return TimeSource.SYSTEM.instant();
        }

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            TimeSource.SYSTEM.sleep(duration);
        }

        @Override
        public boolean await(Future<?> future, Duration timeout) throws InterruptedException {
            return TimeSource.SYSTEM.await(future, timeout);
        }

        @Override
        public Scheduled schedule(Duration delay, Runnable task) {
            return TimeSource.SYSTEM.schedule(delay, task);
        }

        @Override
        public Thread start(String name, Runnable body) {
            return TimeSource.SYSTEM.start(name, body);
        }
    }

    /**
     * An http hook's read deadline or an exec hook's wait ends at the same moment as the runner's: whichever notices
     * first, a hook that ran out its budget is timed_out. The hook here reaches its budget on the injected clock and
     * then reports its own failure at once, which used to win the race and be reported failed.
     */
    @Test
    void aHookThatGivesUpAtItsOwnBudgetIsTimedOutNotFailed() throws Exception {
        HandMovedClock clock = new HandMovedClock();
        Duration timeout = Duration.ofSeconds(2);
        Hook selfTimed = new TestHooks.Scripted("app-drain", 0, timeout, false, () -> {
            clock.now.addAndGet(timeout.toNanos());
            throw new HookFailedException("POST http://127.0.0.1:8080/drain: no response within 2s");
        }, new java.util.concurrent.CopyOnWriteArrayList<>());
        HookRunner runner = new HookRunner(executor, clock);

        for (int i = 0; i < 20; i++) {
            Deadline deadline = Deadline.after(Duration.ofMinutes(1), clock, Clock.systemUTC());
            HookRunner.Result result = runner.runAll(List.of(selfTimed), deadline, report -> {});

            HookReport report = result.reports().get(0);
            assertThat(report.outcome()).as("run " + i).isEqualTo(Outcome.TIMED_OUT);
            assertThat(report.error()).isEqualTo("timed out after 2.000s and was cancelled");
            assertThat(report.durationSeconds()).isEqualTo(2.0);
        }
    }

    @Test
    void aHookThatFailsWithinItsBudgetIsFailedWithItsOwnMessage() throws Exception {
        HandMovedClock clock = new HandMovedClock();
        Hook failing = new TestHooks.Scripted("app-drain", 0, Duration.ofSeconds(2), false, () -> {
            clock.now.addAndGet(Duration.ofMillis(1999).toNanos());
            throw new HookFailedException("answered status 500");
        }, new java.util.concurrent.CopyOnWriteArrayList<>());

        HookRunner.Result result = new HookRunner(executor, clock)
                .runAll(List.of(failing), Deadline.after(Duration.ofMinutes(1), clock, Clock.systemUTC()), report -> {});

        assertThat(result.reports().get(0).outcome()).isEqualTo(Outcome.FAILED);
        assertThat(result.reports().get(0).error()).isEqualTo("answered status 500");
    }
}
