package io.lameduck.collect;

import java.time.Instant;

/**
 * What one report Event tells the collector: a pod's drain ({@link Termination}) or the end of a container restart
 * cycle ({@link RestartCycleEnd}). The ledger counts both the same way (each Event once, by its uid); each kind adds
 * itself to its workload's totals.
 */
sealed interface Report permits Termination, RestartCycleEnd {
    /** The Event's uid: what makes counting it twice impossible. */
    String eventUid();

    /** When the Event was written (its creation time on the API server): what the ledger's horizon is compared with. */
    Instant recordedAt();

    WorkloadKey workload();

    /** Adds this report to its workload's totals. */
    void addTo(WorkloadTotals totals);
}
