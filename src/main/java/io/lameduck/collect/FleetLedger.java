package io.lameduck.collect;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The collector's one source of truth: the totals per workload, which report Events were already counted, and the
 * recent terminations of each workload. Every bound is here: at most {@link Bounds#maxWorkloads} workloads (the rest
 * count under {@link WorkloadKey#OTHER}), at most {@link Bounds#maxSeen} remembered Events and none older than
 * {@link Bounds#retention}, at most {@link Bounds#recent} recent terminations per workload. Thread-safe.
 *
 * <p>Recent terminations are not persisted: after a restart they come back from the Events still on the API server
 * (an hour by default), which the collector lists again anyway.
 */
final class FleetLedger {
    /** What counting one report did. */
    enum Result {
        COUNTED, DUPLICATE, EXPIRED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * @param retention how long a counted Event's uid is remembered; Events older than that are not counted again (nor
     *     at all, when the collector was down longer): longer than the API server's Event TTL (1 h by default)
     */
    record Bounds(int maxWorkloads, int recent, int maxSeen, Duration retention) {
        static final Bounds DEFAULT = new Bounds(1000, 20, 20_000, Duration.ofHours(2));

        Bounds {
            if (maxWorkloads < 1 || recent < 1 || maxSeen < 1 || retention.isNegative() || retention.isZero()) {
                throw new IllegalArgumentException("collector bounds must be positive: " + maxWorkloads + " workloads, "
                        + recent + " recent, " + maxSeen + " seen, retention " + retention);
            }
        }
    }

    private static final Comparator<Termination> NEWEST_FIRST =
            Comparator.comparing(Termination::finishedAt).thenComparing(Termination::eventUid).reversed();

    private final Bounds bounds;
    private final Clock clock;
    private final Map<WorkloadKey, WorkloadTotals> totals = new TreeMap<>();
    private final LinkedHashMap<String, Instant> seen = new LinkedHashMap<>();
    private final Map<WorkloadKey, Deque<Termination>> recent = new HashMap<>();
    private Instant horizon = Instant.EPOCH;
    private long overflowReports;
    private long changes;

    FleetLedger(Bounds bounds, Clock clock) {
        this.bounds = bounds;
        this.clock = clock;
    }

    synchronized Result record(Termination termination) {
        prune();
        WorkloadKey key = totals.containsKey(termination.workload()) || totals.size() < bounds.maxWorkloads()
                ? termination.workload() : WorkloadKey.OTHER;
        if (seen.containsKey(termination.eventUid())) {
            remember(key, termination); // a relist after a restart: the count is persisted, the recent list is not
            return Result.DUPLICATE;
        }
        if (termination.recordedAt().isBefore(horizon)) {
            return Result.EXPIRED;
        }
        if (key == WorkloadKey.OTHER && !termination.workload().equals(WorkloadKey.OTHER)) {
            overflowReports++;
        }
        totals.computeIfAbsent(key, k -> new WorkloadTotals()).add(termination);
        seen.put(termination.eventUid(), termination.recordedAt());
        remember(key, termination);
        changes++;
        prune();
        return Result.COUNTED;
    }

    private void remember(WorkloadKey key, Termination termination) {
        Deque<Termination> list = recent.computeIfAbsent(key, k -> new ArrayDeque<>());
        if (list.stream().anyMatch(t -> t.eventUid().equals(termination.eventUid()))) {
            return;
        }
        List<Termination> sorted = new ArrayList<>(list);
        sorted.add(termination);
        sorted.sort(NEWEST_FIRST);
        list.clear();
        sorted.stream().limit(bounds.recent()).forEach(list::addLast);
    }

    /** Forgets uids past the retention or beyond the bound; the horizon moves up so those Events are never counted again. */
    private void prune() {
        Instant oldest = clock.instant().minus(bounds.retention());
        if (oldest.isAfter(horizon)) {
            horizon = oldest;
        }
        Iterator<Map.Entry<String, Instant>> it = seen.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Instant> entry = it.next();
            boolean tooMany = seen.size() > bounds.maxSeen();
            if (!tooMany && !entry.getValue().isBefore(horizon)) {
                // Mostly in creation order; an older one further on is removed when it reaches the front or the bound.
                break;
            }
            if (tooMany && !entry.getValue().isBefore(horizon)) {
                horizon = entry.getValue().plusNanos(1);
            }
            it.remove();
        }
    }

    /** The most recent terminations first, of one workload or of all ({@code namespace}, {@code name} null: any). */
    synchronized List<Termination> recent(String namespace, String name, int limit) {
        return recent.entrySet().stream()
                .filter(e -> namespace == null || e.getKey().namespace().equals(namespace))
                .filter(e -> name == null || e.getKey().name().equals(name))
                .flatMap(e -> e.getValue().stream())
                .sorted(NEWEST_FIRST)
                .limit(limit)
                .toList();
    }

    /** Counted reports since the ledger was made or restored: the persister writes when this moved. */
    synchronized long changes() {
        return changes;
    }

    synchronized int workloads() {
        return totals.size();
    }

    synchronized int seen() {
        return seen.size();
    }

    synchronized long overflowReports() {
        return overflowReports;
    }

    /** Reads the totals under the ledger's lock (for a scrape). */
    synchronized <T> T read(java.util.function.Function<Map<WorkloadKey, WorkloadTotals>, T> reader) {
        return reader.apply(java.util.Collections.unmodifiableMap(totals));
    }

    synchronized LedgerState state() {
        prune();
        List<LedgerState.Workload> workloads = new ArrayList<>();
        totals.forEach((key, value) -> workloads.add(value.state(key)));
        Map<String, Long> uids = new LinkedHashMap<>();
        seen.forEach((uid, at) -> uids.put(uid, at.getEpochSecond()));
        return new LedgerState(LedgerState.FORMAT, horizon, workloads, uids, overflowReports);
    }

    /** Replaces everything counted with {@code state} (the persisted one); the recent lists are kept. */
    synchronized void restore(LedgerState state) {
        if (state.format() != LedgerState.FORMAT) {
            throw new IllegalArgumentException("collector state format " + state.format() + "; this collector reads format "
                    + LedgerState.FORMAT);
        }
        if (state.horizon() == null || state.workloads() == null || state.seen() == null) {
            throw new IllegalArgumentException("collector state without horizon, workloads or seen");
        }
        Map<WorkloadKey, WorkloadTotals> restored = new TreeMap<>();
        for (LedgerState.Workload workload : state.workloads()) {
            restored.put(new WorkloadKey(workload.namespace(), workload.kind(), workload.name()), WorkloadTotals.of(workload));
        }
        totals.clear();
        totals.putAll(restored);
        seen.clear();
        state.seen().forEach((uid, epochSecond) -> seen.put(uid, Instant.ofEpochSecond(epochSecond)));
        horizon = state.horizon();
        overflowReports = state.overflowReports();
        changes = 0;
    }
}
