package io.lameduck.drain;

import io.lameduck.time.Deadline;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import static io.lameduck.time.Durations.seconds;

/**
 * Runs drain hooks: lower priority first, equal priorities concurrently, each within its own timeout
 * cut to the drain deadline. A hook that overruns is cancelled (its thread interrupted) and reported
 * {@code timed_out}; once the deadline has passed, or a hook with {@code onFailure: abort} failed, the
 * remaining hooks are reported {@code skipped}.
 *
 * <p>It measures and waits on a {@link TimeSource} ({@link TimeSource#SYSTEM} in the agent): a hook's timeout, the wait
 * for its result and for a cancelled hook to stop. So tests run it on simulated time and assert the moment a hook
 * timed out or the deadline cut it short exactly.
 */
final class HookRunner {
    /** How long a cancelled hook gets to clean up (kill its processes) before we report it as leaked. */
    private static final Duration CANCEL_GRACE = Duration.ofSeconds(1);
    private static final Logger LOG = LoggerFactory.getLogger(HookRunner.class);

    private final ExecutorService executor;
    private final TimeSource time;

    /** @param executor runs each hook on a thread of its own, which a hook that overruns has interrupted */
    HookRunner(ExecutorService executor, TimeSource time) {
        this.executor = executor;
        this.time = time;
    }

    /** What running all hooks came to. */
    record Result(List<HookReport> reports, boolean aborted, boolean deadlineReached) {
        static final Result NONE = new Result(List.of(), false, false);

        /** This result followed by {@code next}'s. */
        Result and(Result next) {
            List<HookReport> all = new ArrayList<>(reports);
            all.addAll(next.reports);
            return new Result(List.copyOf(all), aborted || next.aborted, deadlineReached || next.deadlineReached);
        }
    }

    /** Reports every hook {@code skipped} with the reason, running none. */
    Result skipAll(List<Hook> hooks, String reason, Consumer<HookReport> onFinished) {
        List<HookReport> reports = new ArrayList<>();
        for (Hook hook : hooks) {
            report(reports, onFinished, HookReport.of(hook, Outcome.SKIPPED, 0, reason));
        }
        return new Result(List.copyOf(reports), false, false);
    }

    Result runAll(List<Hook> hooks, Deadline deadline, Consumer<HookReport> onFinished) throws InterruptedException {
        Map<Integer, List<Hook>> groups = new TreeMap<>();
        for (Hook hook : hooks) {
            groups.computeIfAbsent(hook.priority(), p -> new ArrayList<>()).add(hook);
        }
        List<HookReport> reports = new ArrayList<>();
        String skipReason = null;
        boolean deadlineReached = false;
        boolean aborted = false;
        for (List<Hook> group : groups.values()) {
            if (skipReason == null && deadline.isExpired()) {
                skipReason = "skipped: the drain deadline was reached before this hook's turn";
                deadlineReached = true;
            }
            if (skipReason != null) {
                reports.addAll(skipAll(group, skipReason, onFinished).reports());
                continue;
            }
            for (GroupMember member : runGroup(group, deadline)) {
                report(reports, onFinished, member.report);
                deadlineReached |= member.cutByDeadline && member.report.outcome() == Outcome.TIMED_OUT;
                if (member.hook.abortsDrainOnFailure() && member.report.outcome() != Outcome.COMPLETED && skipReason == null) {
                    aborted = true;
                    skipReason = "skipped: hook " + member.hook.name() + " failed and has onFailure: abort";
                }
            }
        }
        return new Result(reports, aborted, deadlineReached);
    }

    private static void report(List<HookReport> reports, Consumer<HookReport> onFinished, HookReport report) {
        reports.add(report);
        onFinished.accept(report);
    }

    private static final class GroupMember {
        final Hook hook;
        final Duration budget;
        final boolean cutByDeadline;
        /** Done once the hook's thread is done with the hook, however it ended; unlike {@link #future}, also when cancelled. */
        final CompletableFuture<Void> stopped = new CompletableFuture<>();
        volatile long finishedNanos;
        Future<?> future;
        HookReport report;

        GroupMember(Hook hook, Duration budget, boolean cutByDeadline) {
            this.hook = hook;
            this.budget = budget;
            this.cutByDeadline = cutByDeadline;
        }
    }

    private List<GroupMember> runGroup(List<Hook> group, Deadline deadline) throws InterruptedException {
        long start = time.nanoTime();
        Map<Hook, GroupMember> members = new LinkedHashMap<>();
        for (Hook hook : group) {
            Deadline.Grant grant = deadline.grant(hook.timeout());
            GroupMember member = new GroupMember(hook, grant.time(), grant.cutByDeadline());
            member.future = executor.submit(() -> {
                try {
                    hook.run(member.budget);
                    return null;
                } finally {
                    member.finishedNanos = time.nanoTime();
                    member.stopped.complete(null);
                }
            });
            members.put(hook, member);
        }
        for (GroupMember member : members.values()) {
            member.report = await(member, start);
        }
        return List.copyOf(members.values());
    }

    private HookReport await(GroupMember member, long start) throws InterruptedException {
        Hook hook = member.hook;
        Duration left = Duration.ofNanos(Math.max(0, start + member.budget.toNanos() - time.nanoTime()));
        Outcome outcome;
        String error = null;
        try {
            if (time.await(member.future, left)) {
                member.future.get(); // done: returns, or throws what the hook threw, at once
                outcome = Outcome.COMPLETED;
            } else {
                member.future.cancel(true);
                outcome = Outcome.TIMED_OUT;
                error = timedOut(member);
                if (!time.await(member.stopped, CANCEL_GRACE)) {
                    LOG.warn("hook {} did not stop within {} of being cancelled", hook.name(), seconds(CANCEL_GRACE));
                }
            }
        } catch (ExecutionException e) {
            if (member.finishedNanos - start >= member.budget.toNanos()) {
                // The hook gave up by its own clock (a read deadline, a process wait) just as ours ran out. The runner's
                // clock is the one source of truth: a hook that used its whole budget timed out, whoever noticed first.
                outcome = Outcome.TIMED_OUT;
                error = timedOut(member);
            } else {
                outcome = Outcome.FAILED;
                Throwable cause = e.getCause();
                error = cause instanceof HookFailedException ? cause.getMessage() : "unexpected error: " + cause;
            }
        } catch (InterruptedException e) {
            member.future.cancel(true);
            throw e;
        }
        long end = outcome == Outcome.TIMED_OUT || member.finishedNanos == 0 ? time.nanoTime() : member.finishedNanos;
        return HookReport.of(hook, outcome, (end - start) / 1e9, error);
    }

    private static String timedOut(GroupMember member) {
        return member.cutByDeadline
                ? "cancelled at the drain deadline after " + seconds(member.budget) + " (its timeout " + seconds(member.hook.timeout()) + " did not fit)"
                : "timed out after " + seconds(member.budget) + " and was cancelled";
    }
}
