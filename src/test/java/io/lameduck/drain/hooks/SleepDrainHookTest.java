package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.drain.HookFailedException;
import io.lameduck.testsupport.SimulatedTime;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sleep hook on {@link SimulatedTime}: it ends exactly when it should (not a nanosecond before, at that moment),
 * in no real time; one smoke test on the real clock.
 */
class SleepDrainHookTest {
    private final SimulatedTime time = new SimulatedTime();

    @AfterEach
    void close() {
        time.close();
    }

    private static SleepDrainHook sleepFor(Duration duration, TimeSource time) {
        return new SleepDrainHook(new SleepHook(new HookCommon("nap", 0, Duration.ofHours(1), OnFailure.CONTINUE), duration), time);
    }

    private SimulatedTime.Task<Void> run(Duration duration, Duration budget) {
        return SimulatedHook.run(time, sleepFor(duration, time), budget);
    }

    private void endsAt(SimulatedTime.Task<Void> hook, Duration at) {
        SimulatedHook.endsAt(time, hook, at);
    }

    @Test
    void sleepWithinTheBudgetEndsExactlyAfterItsDuration() throws Exception {
        SimulatedTime.Task<Void> hook = run(Duration.ofMillis(150), Duration.ofHours(1));

        endsAt(hook, Duration.ofMillis(150));
        hook.result(); // returned normally
    }

    @Test
    void sleepAsLongAsItsBudgetCompletes() throws Exception {
        SimulatedTime.Task<Void> hook = run(Duration.ofSeconds(3), Duration.ofSeconds(3));

        endsAt(hook, Duration.ofSeconds(3));
        hook.result();
    }

    @Test
    void sleepLongerThanTheBudgetEndsWithTheBudgetAndSaysItWasCutShort() {
        SimulatedTime.Task<Void> hook = run(Duration.ofHours(1), Duration.ofMillis(100));

        endsAt(hook, Duration.ofMillis(100));
        assertThatThrownBy(hook::result).isInstanceOf(HookFailedException.class)
                .hasMessage("slept only 100ms of 1h: its budget ran out");
    }

    @Test
    void noBudgetLeftEndsAtOnceCutShort() {
        SimulatedTime.Task<Void> hook = run(Duration.ofSeconds(1), Duration.ZERO);

        assertThat(hook.isDone()).isTrue();
        assertThat(time.elapsed()).isZero();
        assertThatThrownBy(hook::result).isInstanceOf(HookFailedException.class)
                .hasMessage("slept only 0s of 1s: its budget ran out");
    }

    @Test
    void interruptedSleepEndsAtOnceWithInterruptedException() {
        Throwable failure = SimulatedHook.interruptedAt(time, sleepFor(Duration.ofHours(1), time), Duration.ofHours(1), Duration.ofMinutes(59));

        assertThat(failure).isInstanceOf(InterruptedException.class);
    }

    /** Smoke test on the real clock: the agent's hook sleeps on {@link TimeSource#SYSTEM}. */
    @Test
    void onTheSystemClockTheSleepLastsItsDuration() throws InterruptedException {
        long start = System.nanoTime();
        HookThread running = HookThread.start(sleepFor(Duration.ofMillis(150), TimeSource.SYSTEM), Duration.ofHours(1));

        assertThat(running.awaitDone(Duration.ofSeconds(5))).isTrue();
        assertThat(running.failure()).isNull();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
    }
}
