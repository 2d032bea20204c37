package io.lameduck.collect;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.lameduck.kube.DrainReportEvent;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The collector's memory and state stay bounded however many reports arrive: {@value #REPORTS} report Events of
 * {@value #WORKLOADS} workloads in {@value #NAMESPACES} namespaces (more workloads than the largest bound allowed, more Events
 * than it remembers), drains and restart cycles, go through what the collector does with each Event it lists or watches
 * ({@link Collector#parse}, {@link FleetLedger#record}) and what it writes ({@link ConfigMapLedgerStore#gzip}). After
 * every {@value #CHECK_EVERY}, every bound holds (workloads at {@link Collector#MAX_WORKLOADS}, the rest at
 * {@link FleetLedger.Bounds#DEFAULT}) and the state fits in a ConfigMap;
 * at the end every report is in the totals, none lost to a bound. The memory this takes is measured by
 * {@code CollectorMemoryBenchmarkTest} (a benchmark: no figure is asserted here).
 */
class CollectorBoundsTest {
    static final int REPORTS = 30_000;
    static final int WORKLOADS = Collector.MAX_WORKLOADS + 500;
    static final int NAMESPACES = 60;
    static final int CHECK_EVERY = 2_500;
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");
    // The largest --max-workloads allowed, every other bound at its default.
    private static final FleetLedger.Bounds BOUNDS = new FleetLedger.Bounds(Collector.MAX_WORKLOADS, FleetLedger.Bounds.DEFAULT.recent(),
            FleetLedger.Bounds.DEFAULT.maxRecent(), FleetLedger.Bounds.DEFAULT.maxSeen(), FleetLedger.Bounds.DEFAULT.retention());

    private final FleetLedger ledger = new FleetLedger(BOUNDS, Clock.fixed(NOW, ZoneOffset.UTC));

    @Test
    void tenThousandsOfReportsOverMoreWorkloadsThanTheBoundKeepEveryBoundAndTheStateWithinAConfigMap() throws Exception {
        long drains = 0;
        long cycles = 0;
        int largestState = 0;
        for (int i = 0; i < REPORTS; i++) {
            Instant at = NOW.minusMillis(REPORTS - i); // all within the retention: only the count bound forgets uids
            boolean cycle = i % 10 == 9;
            assertThat(ledger.record(Collector.parse(cycle ? restartEvent(i, at) : drainEvent(i, at))))
                    .isEqualTo(FleetLedger.Result.COUNTED);
            if (cycle) {
                cycles++;
            } else {
                drains++;
            }
            if ((i + 1) % CHECK_EVERY == 0) {
                largestState = Math.max(largestState, checkBounds());
            }
        }

        assertThat(ledger.workloads()).isEqualTo(BOUNDS.maxWorkloads() + 1); // and _other
        assertThat(ledger.seen()).isEqualTo(BOUNDS.maxSeen());
        assertThat(ledger.recentKept()).isEqualTo(BOUNDS.maxRecent());
        assertThat(ledger.overflowReports()).isPositive();
        long counted = ledger.read(totals -> totals.values().stream().mapToLong(WorkloadTotals::total).sum());
        long cyclesCounted = ledger.read(totals -> totals.values().stream()
                .flatMap(t -> t.restartCycles().values().stream()).mapToLong(Long::longValue).sum());
        assertThat(counted).as("terminations in the totals").isEqualTo(drains);
        assertThat(cyclesCounted).as("restart cycles in the totals").isEqualTo(cycles);
        System.out.printf("%,d reports, %,d workloads: largest state %.1f KiB gzipped of %.1f KiB allowed%n", REPORTS, WORKLOADS,
                largestState / 1024.0, ConfigMapLedgerStore.MAX_BYTES / 1024.0);
    }

    /** Every bound holds, and the state as written fits; its size. */
    private int checkBounds() throws Exception {
        assertThat(ledger.workloads()).isLessThanOrEqualTo(BOUNDS.maxWorkloads() + 1);
        assertThat(ledger.seen()).isLessThanOrEqualTo(BOUNDS.maxSeen());
        assertThat(ledger.recentKept()).isLessThanOrEqualTo(BOUNDS.maxRecent());
        assertThat(ledger.mostRecentOfOneWorkload()).isLessThanOrEqualTo(BOUNDS.recent());
        LedgerState state = ledger.state();
        assertThat(state.recent()).hasSize(ledger.recentKept());
        int bytes = ConfigMapLedgerStore.gzip(state).length;
        assertThat(bytes).as("gzipped state bytes").isLessThan(ConfigMapLedgerStore.MAX_BYTES);
        return bytes;
    }

    private static WorkloadKey workload(int i) {
        // Long names, as generated ones are: the state's size grows with them.
        return new WorkloadKey("team-" + (i % NAMESPACES) + "-production-namespace", "Deployment",
                "service-" + (i % WORKLOADS) + "-with-a-long-generated-name-from-a-template");
    }

    /**
     * A duration of report {@code i} spread over 0 to {@code upTo} seconds by a prime {@code step}, so that every
     * workload's histograms fill different buckets: the state then compresses as little as a real fleet's would.
     */
    private static double spread(int i, int step, int upTo) {
        return (int) ((long) i * step % (upTo * 1000L)) / 1000.0;
    }

    private static Event drainEvent(int i, Instant at) {
        String finished = at.toString();
        String report = "{\"id\":\"drain-" + UUID.randomUUID() + "\",\"trigger\":\"prestop\",\"outcome\":\""
                + (i % 17 == 0 ? "deadline_exceeded" : "completed") + "\",\"startedAt\":\"" + finished + "\",\"finishedAt\":\"" + finished
                + "\",\"durationSeconds\":" + spread(i, 31, 25) + ",\"steps\":[{\"name\":\"unready\",\"outcome\":\"completed\",\"durationSeconds\":0.0},"
                + "{\"name\":\"withdraw\",\"outcome\":\"completed\",\"durationSeconds\":" + spread(i, 7_919, 3) + "},"
                + "{\"name\":\"propagate\",\"outcome\":\"" + (i % 13 == 0 ? "timed_out" : "completed") + "\","
                + "\"durationSeconds\":" + spread(i, 104_729, 12) + "},{\"name\":\"hooks\",\"outcome\":\"completed\",\"durationSeconds\":0.1}],\"hooks\":[],"
                + "\"traffic\":{\"ports\":[8080],\"withdrawnSeconds\":0.8,\"lastRequestSeconds\":1.9,\"requiredQuietSeconds\":1.0,"
                + "\"stopped\":true,\"arrivalsAfterWithdrawal\":" + (i % 5) + "}}";
        return event(i, at, DrainReportEvent.REPORT_KIND, DrainReportEvent.REPORT, report);
    }

    private static Event restartEvent(int i, Instant at) {
        String report = "{\"active\":false,\"phase\":\"" + (i % 3 == 0 ? "superseded" : "restored") + "\",\"trigger\":\"container-exit\","
                + "\"since\":\"" + at + "\",\"endedAt\":\"" + at + "\",\"containers\":[\"app\"],\"drainId\":\"restart-" + UUID.randomUUID()
                + "\",\"detail\":\"container(s) [app] restarted and ready again\"}";
        return event(i, at, DrainReportEvent.RESTART_KIND, DrainReportEvent.RESTART_REPORT, report);
    }

    private static Event event(int i, Instant at, String kind, String annotation, String report) {
        WorkloadKey workload = workload(i);
        String pod = workload.name() + "-7d4b9c5f8-" + Integer.toString(i, 36);
        return new EventBuilder()
                .withNewMetadata().withNamespace(workload.namespace()).withName(pod + "." + Integer.toHexString(i))
                    .withUid(UUID.randomUUID().toString()).withCreationTimestamp(at.toString())
                    .addToLabels(DrainReportEvent.REPORT_LABEL, kind)
                    .addToAnnotations(Map.of(DrainReportEvent.WORKLOAD_KIND, workload.kind(), DrainReportEvent.WORKLOAD, workload.name(),
                            annotation, report))
                .endMetadata()
                .withNewInvolvedObject().withKind("Pod").withNamespace(workload.namespace()).withName(pod).endInvolvedObject()
                .build();
    }
}
