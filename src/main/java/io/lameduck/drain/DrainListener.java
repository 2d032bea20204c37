package io.lameduck.drain;

import java.time.Instant;

/**
 * Observes drains (logs, metrics, Kubernetes Events). Called outside any lock, one event at a time, in the order of the
 * events; must not block long.
 */
public interface DrainListener {
    default void drainStarted(String drainId, Trigger trigger, Instant deadline) {}

    default void stepFinished(String drainId, StepReport step) {}

    default void hookFinished(String drainId, HookReport hook) {}

    default void drainFinished(DrainReport report) {}
}
