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
     */
    record Budget(Duration total, String source, Optional<Duration> margin) {
        public Budget(Duration total, String source) {
            this(total, source, Optional.empty());
        }
    }

    static BudgetSource fixed(Duration total) {
        return () -> new Budget(total, "drain.budget");
    }
}
