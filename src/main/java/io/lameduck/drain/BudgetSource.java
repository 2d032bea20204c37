package io.lameduck.drain;

import java.time.Duration;

/**
 * Where a drain's time budget comes from. Standalone it is {@code drain.budget}; in Kubernetes the pod's
 * {@code deletionTimestamp} or {@code terminationGracePeriodSeconds} is the real limit.
 */
@FunctionalInterface
public interface BudgetSource {
    Budget budget();

    /** @param source where {@code total} came from, for the report */
    record Budget(Duration total, String source) {}

    static BudgetSource fixed(Duration total) {
        return () -> new Budget(total, "drain.budget");
    }
}
