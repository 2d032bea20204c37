package io.lameduck.collect;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.Map;

/**
 * The fleet metrics, read from the {@link FleetLedger} at each scrape (so they cannot disagree with it): labelled by
 * namespace and workload, never by pod, so their cardinality is bounded by the ledger's workload bound.
 */
final class FleetMetrics implements MultiCollector {
    static final String TERMINATIONS = "lameduck_fleet_terminations";
    static final String DRAIN = "lameduck_fleet_drain_duration_seconds";
    static final String STEP = "lameduck_fleet_step_duration_seconds";
    static final String UNCONFIRMED = "lameduck_fleet_withdrawals_unconfirmed";
    static final String NOT_STOPPED = "lameduck_fleet_traffic_not_stopped";
    static final String AFTER_WITHDRAWAL = "lameduck_fleet_traffic_after_withdrawal_seconds";
    static final String ARRIVALS_AFTER_WITHDRAWAL = "lameduck_fleet_requests_after_withdrawal";
    static final String RESTART_CYCLES = "lameduck_fleet_restart_cycles";
    static final String CAUSES = "lameduck_fleet_termination_causes";

    private final FleetLedger ledger;

    FleetMetrics(FleetLedger ledger) {
        this.ledger = ledger;
    }

    @Override
    public MetricSnapshots collect() {
        return ledger.read(this::snapshots);
    }

    private MetricSnapshots snapshots(Map<WorkloadKey, WorkloadTotals> totals) {
        CounterSnapshot.Builder terminations = CounterSnapshot.builder().name(TERMINATIONS)
                .help("Pod terminations (drains) the collector counted, by workload, trigger and outcome");
        HistogramSnapshot.Builder drain = HistogramSnapshot.builder().name(DRAIN).help("How long drains took, by workload");
        HistogramSnapshot.Builder step = HistogramSnapshot.builder().name(STEP).help("How long each drain step took, by workload and step");
        CounterSnapshot.Builder unconfirmed = CounterSnapshot.builder().name(UNCONFIRMED)
                .help("Drains whose withdrawal was not confirmed on the EndpointSlices, by workload");
        CounterSnapshot.Builder notStopped = CounterSnapshot.builder().name(NOT_STOPPED)
                .help("Drains that ended while requests still arrived, by workload");
        HistogramSnapshot.Builder after = HistogramSnapshot.builder().name(AFTER_WITHDRAWAL)
                .help("How long requests kept arriving after the withdrawal, by workload");
        CounterSnapshot.Builder arrivals = CounterSnapshot.builder().name(ARRIVALS_AFTER_WITHDRAWAL)
                .help("Requests that arrived after the withdrawal (new connections, and data on open ones: one per connection and "
                        + "poll at most), by workload");
        CounterSnapshot.Builder restartCycles = CounterSnapshot.builder().name(RESTART_CYCLES)
                .help("Restart cycles (a container restarted while its pod stayed) the collector counted, by workload, trigger and "
                        + "how the cycle ended (outcome: restored, restored-without-restart, superseded)");
        CounterSnapshot.Builder causes = CounterSnapshot.builder().name(CAUSES)
                .help("Terminations whose report named who took the pod away (a kubelet eviction, a DisruptionTarget reason), by workload "
                        + "and cause; a termination without one (a rollout, a scale-down) is not counted here");
        totals.forEach((key, value) -> {
            Labels labels = Labels.of("namespace", key.namespace(), "workload_kind", key.kind(), "workload", key.name());
            byTriggerAndOutcome(terminations, labels, value.terminations());
            byTriggerAndOutcome(restartCycles, labels, value.restartCycles());
            value.causes().forEach((cause, count) -> causes.dataPoint(counter(labels.add("cause", cause), count)));
            drain.dataPoint(point(labels, value.drain()));
            value.steps().forEach((name, histogram) -> step.dataPoint(point(labels.add("step", name), histogram)));
            unconfirmed.dataPoint(counter(labels, value.withdrawalsUnconfirmed()));
            notStopped.dataPoint(counter(labels, value.trafficNotStopped()));
            after.dataPoint(point(labels, value.trafficAfterWithdrawal()));
            arrivals.dataPoint(counter(labels, value.arrivalsAfterWithdrawal()));
        });
        return MetricSnapshots.of(terminations.build(), drain.build(), step.build(), unconfirmed.build(), notStopped.build(), after.build(),
                arrivals.build(), restartCycles.build(), causes.build());
    }

    /** One point per {@code trigger/outcome} key of {@code counts}. */
    private static void byTriggerAndOutcome(CounterSnapshot.Builder metric, Labels labels, Map<String, Long> counts) {
        counts.forEach((triggerOutcome, count) -> {
            int slash = triggerOutcome.indexOf('/');
            metric.dataPoint(counter(labels.add("trigger", triggerOutcome.substring(0, slash)).add("outcome", triggerOutcome.substring(slash + 1)),
                    count));
        });
    }

    private static CounterSnapshot.CounterDataPointSnapshot counter(Labels labels, long value) {
        return CounterSnapshot.CounterDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    private static HistogramSnapshot.HistogramDataPointSnapshot point(Labels labels, Histogram histogram) {
        return HistogramSnapshot.HistogramDataPointSnapshot.builder().labels(labels)
                .classicHistogramBuckets(ClassicHistogramBuckets.of(Histogram.BOUNDS, histogram.counts()))
                .sum(histogram.sum()).build();
    }
}
