package io.lameduck.collect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.UUID;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class FleetLedgerTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");
    private static final WorkloadKey WEB = new WorkloadKey("shop", "Deployment", "web");
    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    private final FleetLedger ledger = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);

    static Termination termination(String uid, Instant at, WorkloadKey workload, String trigger, String outcome) {
        return termination(uid, at, workload, trigger, outcome, null);
    }

    static Termination termination(String uid, Instant at, WorkloadKey workload, String trigger, String outcome, String cause) {
        return new Termination(uid, at, at, workload, workload.name() + "-" + uid, "drain-" + uid, trigger, outcome, 4.2,
                Map.of("withdraw", 0.8, "propagate", 3.0, "hooks", 0.4), !"failed".equals(outcome), !"deadline_exceeded".equals(outcome),
                1.5, 12, cause);
    }

    private static Termination at(String uid, Instant at) {
        return termination(uid, at, WEB, "prestop", "completed");
    }

    private static long total(FleetLedger ledger, WorkloadKey key) {
        Long total = ledger.read(totals -> totals.get(key).total());
        return total;
    }

    @Test
    void countsEachEventOnceAndAnEventOlderThanTheHorizonNever() {
        assertThat(ledger.record(at("a", NOW.minusSeconds(60)))).isEqualTo(FleetLedger.Result.COUNTED);
        assertThat(ledger.record(at("a", NOW.minusSeconds(60)))).isEqualTo(FleetLedger.Result.DUPLICATE);
        assertThat(ledger.record(at("old", NOW.minus(Duration.ofHours(3))))).isEqualTo(FleetLedger.Result.EXPIRED);
        assertThat(ledger.record(termination("b", NOW, WEB, "signal", "deadline_exceeded"))).isEqualTo(FleetLedger.Result.COUNTED);

        ledger.read(totals -> {
            WorkloadTotals web = totals.get(WEB);
            assertThat(web.terminations()).containsExactlyInAnyOrderEntriesOf(Map.of("prestop/completed", 1L, "signal/deadline_exceeded", 1L));
            assertThat(web.drain().count()).isEqualTo(2);
            assertThat(web.steps()).containsOnlyKeys("withdraw", "propagate", "hooks");
            assertThat(web.trafficNotStopped()).isEqualTo(1);
            assertThat(web.withdrawalsUnconfirmed()).isZero();
            return null;
        });
        assertThat(ledger.changes()).isEqualTo(2);
        assertThat(ledger.recent("shop", "web", 10)).extracting(Termination::eventUid).containsExactly("b", "a");
    }

    @Test
    void aRestoredLedgerCountsNothingTwiceAndHasItsRecentListWithoutTheEvents() {
        ledger.record(at("a", NOW.minusSeconds(30)));
        ledger.record(at("b", NOW.minusSeconds(20)));
        LedgerState written = ledger.state();

        FleetLedger restarted = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);
        restarted.restore(written);
        // No relist needed: the recent terminations were persisted with the counts.
        assertThat(restarted.recent(null, null, 10)).containsExactlyElementsOf(ledger.recent(null, null, 10));
        // The relist after the restart: both again, and one written after the state was.
        assertThat(restarted.record(at("a", NOW.minusSeconds(30)))).isEqualTo(FleetLedger.Result.DUPLICATE);
        assertThat(restarted.record(at("b", NOW.minusSeconds(20)))).isEqualTo(FleetLedger.Result.DUPLICATE);
        assertThat(restarted.record(at("c", NOW.minusSeconds(10)))).isEqualTo(FleetLedger.Result.COUNTED);

        assertThat(total(restarted, WEB)).isEqualTo(3);
        assertThat(restarted.recent("shop", null, 10)).extracting(Termination::eventUid).containsExactly("c", "b", "a");
        assertThat(restarted.state().seen()).containsOnlyKeys("a", "b", "c");
    }

    @Test
    void aStateOfTheFormerFormatIsReadAsHavingNoRecentTerminationsNorRestartCycles() {
        ledger.record(at("a", NOW.minusSeconds(30)));
        LedgerState now = ledger.state();
        LedgerState.Workload web = now.workloads().get(0);
        LedgerState.Workload former = new LedgerState.Workload(web.namespace(), web.kind(), web.name(), web.terminations(), web.drain(),
                web.steps(), web.withdrawalsUnconfirmed(), web.trafficNotStopped(), web.trafficAfterWithdrawal(), web.arrivalsAfterWithdrawal(),
                null, null);
        FleetLedger restarted = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);
        restarted.restore(new LedgerState(LedgerState.FORMAT_WITHOUT_RECENT, now.horizon(), java.util.List.of(former), now.seen(), 0, null));

        assertThat(total(restarted, WEB)).isEqualTo(1);
        assertThat(restarted.recent(null, null, 10)).isEmpty();
        assertThat(restarted.record(at("a", NOW.minusSeconds(30)))).isEqualTo(FleetLedger.Result.DUPLICATE);
        assertThat(restarted.recent(null, null, 10)).extracting(Termination::eventUid).containsExactly("a");
    }

    @Test
    void causesCountOncePerTerminationThatNamedOneAndSurviveARestartAndAStateWrittenBeforeThemHasNone() {
        ledger.record(termination("e1", NOW.minusSeconds(9), WEB, "prestop", "completed", "kubelet-eviction"));
        ledger.record(termination("e1", NOW.minusSeconds(9), WEB, "prestop", "completed", "kubelet-eviction"));
        ledger.record(termination("e2", NOW.minusSeconds(8), WEB, "signal", "completed", "kubelet-eviction"));
        ledger.record(termination("p1", NOW.minusSeconds(7), WEB, "pod-deletion", "completed", "preemption-by-scheduler"));
        ledger.record(at("rollout", NOW.minusSeconds(6)));
        Map<String, Long> expected = Map.of("kubelet-eviction", 2L, "preemption-by-scheduler", 1L);
        assertThat(causes(ledger)).isEqualTo(expected);

        FleetLedger restarted = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);
        restarted.restore(ledger.state());
        assertThat(causes(restarted)).isEqualTo(expected);

        LedgerState.Workload web = ledger.state().workloads().get(0);
        LedgerState.Workload before = new LedgerState.Workload(web.namespace(), web.kind(), web.name(), web.terminations(), web.drain(),
                web.steps(), web.withdrawalsUnconfirmed(), web.trafficNotStopped(), web.trafficAfterWithdrawal(), web.arrivalsAfterWithdrawal(),
                web.restartCycles(), null);
        FleetLedger older = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);
        older.restore(new LedgerState(LedgerState.FORMAT, NOW, java.util.List.of(before), Map.of(), 0, java.util.List.of()));
        assertThat(causes(older)).isEmpty();
        assertThat(total(older, WEB)).isEqualTo(4);
    }

    private static Map<String, Long> causes(FleetLedger ledger) {
        return ledger.read(totals -> totals.get(WEB).causes());
    }

    @Test
    void restartCyclesCountByTriggerAndOutcomeOnceEachAndSurviveARestart() {
        RestartCycleEnd restored = new RestartCycleEnd("r1", NOW.minusSeconds(5), WEB, "web-1", "restart-1", "container-exit", "restored");
        assertThat(ledger.record(restored)).isEqualTo(FleetLedger.Result.COUNTED);
        assertThat(ledger.record(restored)).isEqualTo(FleetLedger.Result.DUPLICATE);
        ledger.record(new RestartCycleEnd("r2", NOW, WEB, "web-1", "restart-2", "container-restart", "superseded"));
        ledger.record(new RestartCycleEnd("r3", NOW, WEB, "web-2", "restart-3", "container-exit", "restored"));

        FleetLedger restarted = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);
        restarted.restore(ledger.state());
        for (FleetLedger each : new FleetLedger[] {ledger, restarted}) {
            each.read(totals -> {
                assertThat(totals.get(WEB).restartCycles()).containsExactlyInAnyOrderEntriesOf(
                        Map.of("container-exit/restored", 2L, "container-restart/superseded", 1L));
                assertThat(totals.get(WEB).total()).as("a cycle's end is not a termination").isZero();
                return null;
            });
            assertThat(each.recent(null, null, 10)).isEmpty();
        }
        assertThat(restarted.record(restored)).isEqualTo(FleetLedger.Result.DUPLICATE);
    }

    @Test
    void theRecentTerminationsOfTheWholeFleetAreBoundedTheOldestGoingFirst() {
        FleetLedger small = new FleetLedger(new FleetLedger.Bounds(10, 3, 4, 100, Duration.ofHours(2)), clock);
        WorkloadKey db = new WorkloadKey("shop", "Deployment", "db");
        small.record(at("web-old", NOW.minusSeconds(50)));
        small.record(termination("db-1", NOW.minusSeconds(40), db, "prestop", "completed"));
        small.record(at("web-2", NOW.minusSeconds(30)));
        small.record(termination("db-2", NOW.minusSeconds(20), db, "prestop", "completed"));
        small.record(at("web-3", NOW.minusSeconds(10)));

        assertThat(small.recentKept()).isEqualTo(4);
        assertThat(small.recent(null, null, 10)).extracting(Termination::eventUid).containsExactly("web-3", "db-2", "web-2", "db-1");
        FleetLedger restarted = new FleetLedger(new FleetLedger.Bounds(10, 3, 4, 100, Duration.ofHours(2)), clock);
        restarted.restore(small.state());
        assertThat(restarted.recent(null, null, 10)).containsExactlyElementsOf(small.recent(null, null, 10));
        assertThat(total(restarted, WEB)).as("the counts keep what the recent list forgot").isEqualTo(3);
    }

    @Test
    void workloadsBeyondTheBoundCountUnderOther() {
        FleetLedger small = new FleetLedger(new FleetLedger.Bounds(2, 20, 2_000, 100, Duration.ofHours(2)), clock);
        for (int i = 0; i < 5; i++) {
            small.record(termination("u" + i, NOW, new WorkloadKey("ns", "Deployment", "w" + i), "prestop", "completed"));
        }
        small.record(termination("again", NOW, new WorkloadKey("ns", "Deployment", "w0"), "prestop", "completed"));

        assertThat(small.workloads()).isEqualTo(3); // w0, w1 and _other
        assertThat(small.overflowReports()).isEqualTo(3);
        assertThat(total(small, WorkloadKey.OTHER)).isEqualTo(3);
        assertThat(total(small, new WorkloadKey("ns", "Deployment", "w0"))).isEqualTo(2);
    }

    @Test
    void theSeenSetIsBoundedByCountAndAgeAndTheHorizonFollowsIt() {
        FleetLedger small = new FleetLedger(new FleetLedger.Bounds(10, 20, 2_000, 3, Duration.ofHours(2)), clock);
        for (int i = 0; i < 5; i++) {
            small.record(at("u" + i, NOW.minusSeconds(50 - i * 10)));
        }
        LedgerState state = small.state();
        assertThat(state.seen()).containsOnlyKeys("u2", "u3", "u4");
        assertThat(state.horizon()).isAfter(NOW.minusSeconds(40)); // u1 was created 40 s ago: forgotten, so never counted again
        assertThat(small.record(at("u1", NOW.minusSeconds(40)))).isEqualTo(FleetLedger.Result.EXPIRED);
        assertThat(total(small, WEB)).isEqualTo(5);

        FleetLedger later = new FleetLedger(FleetLedger.Bounds.DEFAULT, Clock.fixed(NOW.plus(Duration.ofHours(3)), ZoneOffset.UTC));
        later.restore(state);
        assertThat(later.state().seen()).isEmpty(); // older than the retention
        assertThat(later.state().horizon()).isEqualTo(NOW.plus(Duration.ofHours(1)));
    }

    @Test
    void theRecentListKeepsTheNewestOfEachWorkload() {
        FleetLedger small = new FleetLedger(new FleetLedger.Bounds(10, 2, 2_000, 100, Duration.ofHours(2)), clock);
        small.record(at("b", NOW.minusSeconds(20)));
        small.record(at("c", NOW.minusSeconds(10)));
        small.record(at("a", NOW.minusSeconds(30))); // arrives last (a relist's order), is the oldest
        assertThat(small.recent("shop", "web", 10)).extracting(Termination::eventUid).containsExactly("c", "b");
        assertThat(small.recent("shop", "web", 1)).extracting(Termination::eventUid).containsExactly("c");
        assertThat(small.recent("other", null, 10)).isEmpty();
    }

    @Test
    void aStateOfAnotherFormatOrWithNegativeCountsIsRefused() {
        LedgerState good = ledger.state();
        assertThatThrownBy(() -> ledger.restore(new LedgerState(3, good.horizon(), good.workloads(), good.seen(), 0, good.recent())))
                .hasMessageContaining("format 3; this collector reads formats 1 and 2");
        ledger.record(at("a", NOW));
        LedgerState.Workload web = ledger.state().workloads().get(0);
        LedgerState.Workload negative = new LedgerState.Workload(web.namespace(), web.kind(), web.name(), Map.of("prestop/completed", -1L),
                web.drain(), web.steps(), 0, 0, web.trafficAfterWithdrawal(), 0, null, null);
        assertThatThrownBy(() -> ledger.restore(new LedgerState(1, NOW, java.util.List.of(negative), Map.of(), 0, null)))
                .hasMessageContaining("negative");
    }

    /** At the default bounds, full (every workload and every remembered uid used), the state still fits in a ConfigMap. */
    @Test
    void aFullStateAtTheDefaultBoundsFitsInAConfigMap() throws Exception {
        FleetLedger full = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);
        int workloads = FleetLedger.Bounds.DEFAULT.maxWorkloads();
        int events = FleetLedger.Bounds.DEFAULT.maxSeen();
        String[] triggers = {"prestop", "signal", "container-restart", "pod-deletion"};
        for (int i = 0; i < events; i++) {
            WorkloadKey key = new WorkloadKey("namespace-" + (i % 97), "Deployment", "workload-with-a-long-name-" + (i % workloads));
            full.record(termination(UUID.randomUUID().toString(), NOW.minusMillis(events - i), key, triggers[i % 4],
                    i % 13 == 0 ? "deadline_exceeded" : "completed"));
        }
        LedgerState state = full.state();
        assertThat(state.workloads()).hasSize(workloads + 1); // and _other
        assertThat(state.seen()).hasSize(events);

        byte[] gz = ConfigMapLedgerStore.gzip(state);
        assertThat(gz.length).as("gzipped state bytes").isLessThan(ConfigMapLedgerStore.MAX_BYTES);
        LedgerState read = io.lameduck.http.Json.MAPPER.readValue(new GZIPInputStream(new ByteArrayInputStream(gz)), LedgerState.class);
        FleetLedger restored = new FleetLedger(FleetLedger.Bounds.DEFAULT, clock);
        restored.restore(read);
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        io.lameduck.http.Json.MAPPER.writeValue(again, restored.state());
        assertThat(again.toString()).isEqualTo(io.lameduck.http.Json.write(state));
    }
}
