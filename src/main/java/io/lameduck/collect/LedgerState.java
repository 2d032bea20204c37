package io.lameduck.collect;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the collector persists ({@link LedgerStore}): the totals of every workload, which report Events were counted
 * since {@code horizon}, and the recent terminations (so {@code /terminations} survives a restart even when the Events
 * have expired). An Event created before the horizon is never counted again; one after it is counted
 * unless its uid is in {@code seen}. Together that makes a restart, or a relist after a broken watch, count each
 * termination exactly once.
 *
 * @param format the layout version ({@link #FORMAT}); format 1 (before {@code recent} and {@code restartCycles}) is
 *     read too, anything else is refused, not misread
 * @param seen counted Events since the horizon: uid to creation time (epoch seconds), oldest first
 * @param overflowReports reports counted under {@link WorkloadKey#OTHER} because the workload bound was reached
 * @param recent the recent terminations of every workload, newest first (null in format 1)
 */
record LedgerState(int format, Instant horizon, List<Workload> workloads, Map<String, Long> seen, long overflowReports,
        List<Termination> recent) {
    static final int FORMAT = 2;
    /** The format before the recent terminations and the restart cycles were kept: read as having none. */
    static final int FORMAT_WITHOUT_RECENT = 1;

    /**
     * One workload's totals.
     *
     * @param restartCycles restart cycles by {@code trigger/outcome} (null in format 1)
     * @param causes terminations whose report named a cause, by cause (null in states written before causes were counted)
     */
    record Workload(String namespace, String kind, String name, Map<String, Long> terminations, Histogram.State drain,
            Map<String, Histogram.State> steps, long withdrawalsUnconfirmed, long trafficNotStopped,
            Histogram.State trafficAfterWithdrawal, long arrivalsAfterWithdrawal, Map<String, Long> restartCycles,
            Map<String, Long> causes) {}
}
