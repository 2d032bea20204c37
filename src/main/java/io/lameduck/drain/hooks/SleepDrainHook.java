package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.drain.HookFailedException;
import io.lameduck.time.Durations;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Sleeps for the configured duration, or the budget if that is shorter; an interrupt ends it at once. A sleep cut to
 * its budget did not complete: it says so (the runner reports it timed out), rather than returning normally at the
 * very moment the runner's own wait for it ends, which made the outcome a race between two clocks.
 */
final class SleepDrainHook extends AbstractDrainHook {
    private final Duration duration;

    SleepDrainHook(SleepHook spec) {
        super(spec);
        this.duration = spec.duration();
    }

    @Override
    public void run(Duration budget) throws HookFailedException, InterruptedException {
        Duration nap = duration.compareTo(budget) <= 0 ? duration : budget;
        TimeUnit.NANOSECONDS.sleep(nap.toNanos());
        if (nap.compareTo(duration) < 0) {
            throw new HookFailedException("slept only " + Durations.format(nap) + " of " + Durations.format(duration)
                    + ": its budget ran out");
        }
    }
}
