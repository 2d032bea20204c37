package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.config.AgentConfig.SleepHook;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SleepDrainHookTest {
    private static SleepDrainHook sleepFor(Duration duration) {
        return new SleepDrainHook(new SleepHook(new HookCommon("nap", 0, Duration.ofHours(1), OnFailure.CONTINUE), duration));
    }

    @Test
    void interruptedSleepEndsPromptlyWithInterruptedException() throws InterruptedException {
        HookThread running = HookThread.start(sleepFor(Duration.ofHours(1)), Duration.ofHours(1));

        running.interrupt();

        assertThat(running.awaitDone(Duration.ofSeconds(1))).isTrue();
        assertThat(running.failure()).isInstanceOf(InterruptedException.class);
    }

    @Test
    void sleepLongerThanTheBudgetEndsWithTheBudgetAndSaysItWasCutShort() throws InterruptedException {
        long start = System.nanoTime();
        HookThread running = HookThread.start(sleepFor(Duration.ofHours(1)), Duration.ofMillis(100));

        assertThat(running.awaitDone(Duration.ofSeconds(5))).isTrue();
        assertThat(running.failure()).isInstanceOf(io.lameduck.drain.HookFailedException.class)
                .hasMessage("slept only 100ms of 1h: its budget ran out");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(100), Duration.ofSeconds(5));
    }

    @Test
    void sleepWithinTheBudgetLastsItsDuration() throws InterruptedException {
        long start = System.nanoTime();
        HookThread running = HookThread.start(sleepFor(Duration.ofMillis(150)), Duration.ofHours(1));

        assertThat(running.awaitDone(Duration.ofSeconds(5))).isTrue();
        assertThat(running.failure()).isNull();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
    }
}
