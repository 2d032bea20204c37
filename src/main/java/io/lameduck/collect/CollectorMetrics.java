package io.lameduck.collect;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Instant;

/** The collector's own health: what it did with each report Event, and how writing its state goes. */
final class CollectorMetrics {
    private final Counter reports;
    private final Counter writes;
    private final Gauge stateBytes;
    private final Gauge lastWrite;

    CollectorMetrics(PrometheusRegistry registry, FleetLedger ledger) {
        reports = Counter.builder().name("lameduck_collector_reports_total")
                .help("Report Events read, by result: counted, duplicate (counted before), invalid, expired (older than the state's horizon)")
                .labelNames("result").register(registry);
        for (String result : new String[] {"counted", "duplicate", "invalid", "expired"}) {
            reports.labelValues(result);
        }
        writes = Counter.builder().name("lameduck_collector_state_writes_total")
                .help("Writes of the collector's state ConfigMap, by result: ok, conflict (someone else wrote it), error")
                .labelNames("result").register(registry);
        for (String result : new String[] {"ok", "conflict", "error"}) {
            writes.labelValues(result);
        }
        stateBytes = Gauge.builder().name("lameduck_collector_state_bytes").help("Size of the state last written (gzipped JSON)")
                .register(registry);
        lastWrite = Gauge.builder().name("lameduck_collector_last_write_timestamp_seconds")
                .help("When the state was last written successfully (Unix time)").register(registry);
        GaugeWithCallback.builder().name("lameduck_collector_workloads").help("Workloads with totals in the state")
                .callback(cb -> cb.call(ledger.workloads())).register(registry);
        GaugeWithCallback.builder().name("lameduck_collector_seen_events").help("Counted report Events remembered (to count none twice)")
                .callback(cb -> cb.call(ledger.seen())).register(registry);
        CounterWithCallback.builder().name("lameduck_collector_workloads_overflow_total")
                .help("Reports counted under workload _other because the workload bound (--max-workloads) was reached")
                .callback(cb -> cb.call(ledger.overflowReports())).register(registry);
    }

    void report(String result) {
        reports.labelValues(result).inc();
    }

    void written(int bytes, Instant at) {
        writes.labelValues("ok").inc();
        stateBytes.set(bytes);
        lastWrite.set(at.toEpochMilli() / 1000.0);
    }

    void writeFailed(boolean conflict) {
        writes.labelValues(conflict ? "conflict" : "error").inc();
    }
}
