package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.SleepHook;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Sleeps for the configured duration, or the budget if that is shorter; an interrupt ends it at once. */
final class SleepDrainHook extends AbstractDrainHook {
    private final Duration duration;

    SleepDrainHook(SleepHook spec) {
        super(spec);
        this.duration = spec.duration();
    }

    @Override
    public void run(Duration budget) throws InterruptedException {
        Duration nap = duration.compareTo(budget) <= 0 ? duration : budget;
        TimeUnit.NANOSECONDS.sleep(nap.toNanos());
    }
}
