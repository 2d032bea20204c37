package io.lameduck.collect;

import java.time.Instant;

/**
 * The end of a restart cycle (a container restarted while its pod stayed), read from the Event the agent wrote when the
 * cycle ended ({@code Restored}, {@code RestartSuperseded} or {@code RestoredWithoutRestart}).
 *
 * @param trigger what began the cycle (the agent's trigger label, e.g. {@code container-exit}); read as a short word,
 *     never checked against a list, so an agent with a new trigger needs no new collector
 * @param outcome how the cycle ended, the agent's {@code restart.phase} (e.g. {@code restored}, {@code superseded})
 * @param drainId the id of the cycle's withdrawal report, whose drain Event the collector counts as a termination
 */
record RestartCycleEnd(String eventUid, Instant recordedAt, WorkloadKey workload, String pod, String drainId, String trigger,
        String outcome) implements Report {
    @Override
    public void addTo(WorkloadTotals totals) {
        totals.add(this);
    }
}
