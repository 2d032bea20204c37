package io.lameduck.collect;

import java.util.Map;
import java.util.TreeMap;

/** Everything counted for one workload since the collector's state began. Not thread-safe: {@link FleetLedger} guards it. */
final class WorkloadTotals {
    /** Terminations by trigger and outcome, keyed {@code trigger/outcome}. */
    private final Map<String, Long> terminations;
    private final Histogram drain;
    private final Map<String, Histogram> steps;
    private long withdrawalsUnconfirmed;
    private long trafficNotStopped;
    private long arrivalsAfterWithdrawal;
    private final Histogram trafficAfterWithdrawal;
    /** Restart cycles by trigger and how they ended, keyed {@code trigger/outcome}. */
    private final Map<String, Long> restartCycles;
    /** Terminations whose report named who took the pod away, by cause (a bounded set: {@link Termination#cause}). */
    private final Map<String, Long> causes;

    WorkloadTotals() {
        this(new TreeMap<>(), new Histogram(), new TreeMap<>(), 0, 0, new Histogram(), 0, new TreeMap<>(), new TreeMap<>());
    }

    private WorkloadTotals(Map<String, Long> terminations, Histogram drain, Map<String, Histogram> steps,
            long withdrawalsUnconfirmed, long trafficNotStopped, Histogram trafficAfterWithdrawal, long arrivalsAfterWithdrawal,
            Map<String, Long> restartCycles, Map<String, Long> causes) {
        this.terminations = terminations;
        this.drain = drain;
        this.steps = steps;
        this.withdrawalsUnconfirmed = withdrawalsUnconfirmed;
        this.trafficNotStopped = trafficNotStopped;
        this.trafficAfterWithdrawal = trafficAfterWithdrawal;
        this.arrivalsAfterWithdrawal = arrivalsAfterWithdrawal;
        this.restartCycles = restartCycles;
        this.causes = causes;
    }

    void add(Termination termination) {
        terminations.merge(termination.trigger() + "/" + termination.outcome(), 1L, Long::sum);
        drain.observe(termination.durationSeconds());
        termination.stepSeconds().forEach((step, seconds) -> steps.computeIfAbsent(step, s -> new Histogram()).observe(seconds));
        if (!termination.withdrawalConfirmed()) {
            withdrawalsUnconfirmed++;
        }
        if (Boolean.FALSE.equals(termination.trafficStopped())) {
            trafficNotStopped++;
        }
        if (termination.arrivalsAfterWithdrawal() != null) {
            arrivalsAfterWithdrawal += termination.arrivalsAfterWithdrawal();
        }
        if (termination.trafficAfterWithdrawalSeconds() != null) {
            trafficAfterWithdrawal.observe(termination.trafficAfterWithdrawalSeconds());
        }
        if (termination.cause() != null) {
            causes.merge(termination.cause(), 1L, Long::sum);
        }
    }

    void add(RestartCycleEnd cycle) {
        restartCycles.merge(cycle.trigger() + "/" + cycle.outcome(), 1L, Long::sum);
    }

    /** Terminations by {@code trigger/outcome}. */
    Map<String, Long> terminations() {
        return Map.copyOf(terminations);
    }

    /** Restart cycles by {@code trigger/outcome}. */
    Map<String, Long> restartCycles() {
        return Map.copyOf(restartCycles);
    }

    /** Terminations whose report named a cause, by cause. */
    Map<String, Long> causes() {
        return Map.copyOf(causes);
    }

    long total() {
        return terminations.values().stream().mapToLong(Long::longValue).sum();
    }

    Histogram drain() {
        return drain;
    }

    Map<String, Histogram> steps() {
        return steps;
    }

    long withdrawalsUnconfirmed() {
        return withdrawalsUnconfirmed;
    }

    long trafficNotStopped() {
        return trafficNotStopped;
    }

    Histogram trafficAfterWithdrawal() {
        return trafficAfterWithdrawal;
    }

    long arrivalsAfterWithdrawal() {
        return arrivalsAfterWithdrawal;
    }

    LedgerState.Workload state(WorkloadKey key) {
        Map<String, Histogram.State> stepStates = new TreeMap<>();
        steps.forEach((step, histogram) -> stepStates.put(step, histogram.state()));
        return new LedgerState.Workload(key.namespace(), key.kind(), key.name(), new TreeMap<>(terminations), drain.state(),
                stepStates, withdrawalsUnconfirmed, trafficNotStopped, trafficAfterWithdrawal.state(), arrivalsAfterWithdrawal,
                new TreeMap<>(restartCycles), new TreeMap<>(causes));
    }

    static WorkloadTotals of(LedgerState.Workload state) {
        // A state written before restart cycles were counted has none.
        Map<String, Long> cycles = state.restartCycles() == null ? Map.of() : state.restartCycles();
        // ... and one written before causes were counted, none.
        Map<String, Long> causes = state.causes() == null ? Map.of() : state.causes();
        if (state.terminations() == null || state.steps() == null || state.withdrawalsUnconfirmed() < 0 || state.trafficNotStopped() < 0
                || state.arrivalsAfterWithdrawal() < 0 || negative(state.terminations()) || negative(cycles)
                || negative(causes)) {
            throw new IllegalArgumentException("workload " + state.namespace() + "/" + state.name() + ": counts missing or negative");
        }
        Map<String, Histogram> steps = new TreeMap<>();
        state.steps().forEach((step, histogram) -> steps.put(step, Histogram.of(histogram)));
        return new WorkloadTotals(new TreeMap<>(state.terminations()), Histogram.of(state.drain()), steps,
                state.withdrawalsUnconfirmed(), state.trafficNotStopped(), Histogram.of(state.trafficAfterWithdrawal()),
                state.arrivalsAfterWithdrawal(), new TreeMap<>(cycles), new TreeMap<>(causes));
    }

    private static boolean negative(Map<String, Long> counts) {
        return counts.values().stream().anyMatch(count -> count == null || count < 0);
    }
}
