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
 * recent terminations. Every bound is here: at most {@link Bounds#maxWorkloads} workloads (the rest count under
 * {@link WorkloadKey#OTHER}), at most {@link Bounds#maxSeen} remembered Events and none older than
 * {@link Bounds#retention}, at most {@link Bounds#recent} recent terminations per workload and
 * {@link Bounds#maxRecent} in all. Together they keep the persisted state within a ConfigMap. Thread-safe.
 *
 * <p>The recent terminations are persisted with the counts: after a restart they are there even when the Events that
 * carried them have expired or were deleted.
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
     * @param recent recent terminations kept per workload
     * @param maxRecent recent terminations kept in all (the oldest of the fleet go first): what keeps the persisted
     *     recent lists small whatever {@code maxWorkloads} times {@code recent} is
     * @param retention how long a counted Event's uid is remembered; Events older than that are not counted again (nor
     *     at all, when the collector was down longer): longer than the API server's Event TTL (1 h by default)
     */
    record Bounds(int maxWorkloads, int recent, int maxRecent, int maxSeen, Duration retention) {
        static final Bounds DEFAULT = new Bounds(1000, 20, 2_000, 20_000, Duration.ofHours(2));

        Bounds {
            if (maxWorkloads < 1 || recent < 1 || maxRecent < 1 || maxSeen < 1 || retention.isNegative() || retention.isZero()) {
                throw new IllegalArgumentException("collector bounds must be positive: " + maxWorkloads + " workloads, "
                        + recent + " recent per workload, " + maxRecent + " recent in all, " + maxSeen + " seen, retention " + retention);
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
    private int recentCount;
    private Instant horizon = Instant.EPOCH;
    private long overflowReports;
    private long changes;

    FleetLedger(Bounds bounds, Clock clock) {
        this.bounds = bounds;
        this.clock = clock;
    }

    synchronized Result record(Report report) {
        prune();
        WorkloadKey key = keyOf(report.workload());
        if (seen.containsKey(report.eventUid())) {
            remember(key, report); // a relist: the count is persisted, and so are the recent lists (of a newer collector)
            return Result.DUPLICATE;
        }
        if (report.recordedAt().isBefore(horizon)) {
            return Result.EXPIRED;
        }
        if (key == WorkloadKey.OTHER && !report.workload().equals(WorkloadKey.OTHER)) {
            overflowReports++;
        }
        report.addTo(totals.computeIfAbsent(key, k -> new WorkloadTotals()));
        seen.put(report.eventUid(), report.recordedAt());
        remember(key, report);
        changes++;
        prune();
        return Result.COUNTED;
    }

    /** Where a workload's reports count: its own totals while the bound allows, else {@link WorkloadKey#OTHER}. */
    private WorkloadKey keyOf(WorkloadKey workload) {
        return totals.containsKey(workload) || totals.size() < bounds.maxWorkloads() ? workload : WorkloadKey.OTHER;
    }

    /** Keeps a termination in its workload's recent list (other reports have none), within both recent bounds. */
    private void remember(WorkloadKey key, Report report) {
        if (!(report instanceof Termination termination)) {
            return;
        }
        Deque<Termination> list = recent.computeIfAbsent(key, k -> new ArrayDeque<>());
        if (list.stream().anyMatch(t -> t.eventUid().equals(termination.eventUid()))) {
            return;
        }
        List<Termination> sorted = new ArrayList<>(list);
        sorted.add(termination);
        sorted.sort(NEWEST_FIRST);
        recentCount -= list.size();
        list.clear();
        sorted.stream().limit(bounds.recent()).forEach(list::addLast);
        recentCount += list.size();
        while (recentCount > bounds.maxRecent()) {
            forgetOldestRecent();
        }
    }

    /** Drops the oldest recent termination of the whole fleet. */
    private void forgetOldestRecent() {
        Map.Entry<WorkloadKey, Deque<Termination>> oldest = recent.entrySet().stream().filter(e -> !e.getValue().isEmpty())
                .max(Map.Entry.comparingByValue(Comparator.comparing(Deque::peekLast, NEWEST_FIRST))).orElseThrow();
        oldest.getValue().removeLast();
        recentCount--;
        if (oldest.getValue().isEmpty()) {
            recent.remove(oldest.getKey());
        }
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

    /** Recent terminations kept, all workloads together. */
    synchronized int recentKept() {
        return recentCount;
    }

    /** The longest recent list of one workload. */
    synchronized int mostRecentOfOneWorkload() {
        return recent.values().stream().mapToInt(Deque::size).max().orElse(0);
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
        List<Termination> kept = recent.values().stream().flatMap(Deque::stream).sorted(NEWEST_FIRST).toList();
        return new LedgerState(LedgerState.FORMAT, horizon, workloads, uids, overflowReports, kept);
    }

    /**
     * Replaces everything counted with {@code state} (the persisted one); its recent terminations join those kept
     * (after a conflict, the other writer's).
     */
    synchronized void restore(LedgerState state) {
        if (state.format() != LedgerState.FORMAT && state.format() != LedgerState.FORMAT_WITHOUT_RECENT) {
            throw new IllegalArgumentException("collector state format " + state.format() + "; this collector reads formats "
                    + LedgerState.FORMAT_WITHOUT_RECENT + " and " + LedgerState.FORMAT);
        }
        List<Termination> persisted = state.recent() == null ? List.of() : state.recent();
        if (persisted.stream().anyMatch(t -> t == null || t.eventUid() == null || t.finishedAt() == null || t.workload() == null)) {
            throw new IllegalArgumentException("collector state with a recent termination without uid, finish time or workload");
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
        persisted.forEach(termination -> remember(keyOf(termination.workload()), termination));
        changes = 0;
    }
}
