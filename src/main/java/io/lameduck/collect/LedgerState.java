package io.lameduck.collect;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the collector persists ({@link LedgerStore}): the totals of every workload, and which report Events were
 * counted since {@code horizon}. An Event created before the horizon is never counted again; one after it is counted
 * unless its uid is in {@code seen}. Together that makes a restart, or a relist after a broken watch, count each
 * termination exactly once.
 *
 * @param format the layout version ({@link #FORMAT}); another one is refused, not misread
 * @param seen counted Events since the horizon: uid to creation time (epoch seconds), oldest first
 * @param overflowReports reports counted under {@link WorkloadKey#OTHER} because the workload bound was reached
 */
record LedgerState(int format, Instant horizon, List<Workload> workloads, Map<String, Long> seen, long overflowReports) {
    static final int FORMAT = 1;

    /** One workload's totals. */
    record Workload(String namespace, String kind, String name, Map<String, Long> terminations, Histogram.State drain,
            Map<String, Histogram.State> steps, long withdrawalsUnconfirmed, long trafficNotStopped,
            Histogram.State trafficAfterWithdrawal, long arrivalsAfterWithdrawal) {}
}
