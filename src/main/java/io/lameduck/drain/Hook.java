package io.lameduck.drain;

import java.time.Duration;

/**
 * A drain hook. {@link HookRunner} decides when it runs and for how long; the hook only does its work.
 *
 * <p>Contract for {@link #run}: block until the work is done; throw {@link HookFailedException} with a
 * message an operator can act on when it fails; when the running thread is interrupted (timeout or
 * deadline), stop promptly and leave nothing behind (close connections, kill child processes).
 */
public interface Hook {
    String name();

    /** {@code http}, {@code exec}, {@code sleep} or {@code wait-idle}. */
    String kind();

    int priority();

    Duration timeout();

    /**
     * Whether it runs as the drain starts, beside the withdrawal and the traffic watch ({@code at: trigger}), rather
     * than once the traffic has stopped ({@code at: quiet}, the default).
     */
    default boolean atTrigger() {
        return false;
    }

    /** Whether a failure of this hook stops the drain (the remaining hooks are skipped). */
    boolean abortsDrainOnFailure();

    /**
     * Runs the hook.
     *
     * @param budget how long the hook may take: its own timeout, cut to what remains of the drain deadline
     */
    void run(Duration budget) throws HookFailedException, InterruptedException;
}
