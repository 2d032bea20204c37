package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.drain.HookFailedException;
import io.lameduck.time.Durations;
import io.lameduck.time.TimeSource;
import java.time.Duration;

/**
 * Sleeps for the configured duration, or the budget if that is shorter; an interrupt ends it at once. A sleep cut to
 * its budget did not complete: it says so (the runner reports it timed out), rather than returning normally at the
 * very moment the runner's own wait for it ends, which made the outcome a race between two clocks. It sleeps on the
 * {@link TimeSource} it is given ({@link TimeSource#SYSTEM} in the agent), so tests run it on simulated time.
 */
final class SleepDrainHook extends AbstractDrainHook {
    private final Duration duration;
    private final TimeSource time;

    SleepDrainHook(SleepHook spec, TimeSource time) {
        super(spec);
        this.duration = spec.duration();
        this.time = time;
    }

    @Override
    public void run(Duration budget) throws HookFailedException, InterruptedException {
        Duration nap = duration.compareTo(budget) <= 0 ? duration : budget;
        time.sleep(nap);
        if (nap.compareTo(duration) < 0) {
            throw new HookFailedException("slept only " + Durations.format(nap) + " of " + Durations.format(duration)
                    + ": its budget ran out");
        }
    }
}
