package io.lameduck.drain;

import java.time.Duration;
import java.util.Optional;

/**
 * Where a drain's time budget comes from. Standalone it is {@code drain.budget}; in Kubernetes the pod's
 * {@code deletionTimestamp} or {@code terminationGracePeriodSeconds} is the real limit.
 */
@FunctionalInterface
public interface BudgetSource {
    Budget budget();

    /**
     * @param source where {@code total} came from, for the report
     * @param margin what the drain leaves of {@code total} when it is not {@code drain.safetyMargin}: a budget whose
     *     source already gives the app its own time after the preStop (a kubelet eviction) needs only the agent's
     * @param cause who is taking the pod away, when the read that found the budget also tells (the kubelet's Evicted
     *     Event, a {@code DisruptionTarget} condition): both come from the one read of the pod at the drain's start, and
     *     the budget already depends on the eviction, so a second read for the cause would only risk the two disagreeing
     */
    record Budget(Duration total, String source, Optional<Duration> margin, Optional<Cause> cause) {
        public Budget(Duration total, String source) {
            this(total, source, Optional.empty(), Optional.empty());
        }
    }

    static BudgetSource fixed(Duration total) {
        return () -> new Budget(total, "drain.budget");
    }
}
