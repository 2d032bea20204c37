package io.lameduck;

import io.lameduck.drain.Withdrawal;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.maintenance.Maintenance;
import io.lameduck.restart.RestartCycle;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Marks the pod serving at start-up (readiness gate True, serving label "true") and, when the API fails that, keeps
 * trying in the background with back-off. A pod whose gate is never set never becomes Ready and its rollout stalls:
 * the benchmark saw it, a patch that timed out on a node short of CPU left one pod unready for good. The retries stop
 * once the mark is made, once maintenance is on (leaving maintenance marks the pod serving), once a drain began
 * (the withdrawal then refuses to restore), or while a container restart holds the pod withdrawn (its end puts it back).
 */
final class ServingMark {
    private static final Logger LOG = LoggerFactory.getLogger(ServingMark.class);
    static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    static final Duration LONGEST_RETRY = Duration.ofSeconds(15);

    private final Maintenance maintenance;
    private final Lifecycle lifecycle;
    private final RestartCycle restarts;
    private final ScheduledExecutorService scheduler;

    ServingMark(Maintenance maintenance, Lifecycle lifecycle, RestartCycle restarts, ScheduledExecutorService scheduler) {
        this.maintenance = maintenance;
        this.lifecycle = lifecycle;
        this.restarts = restarts;
        this.scheduler = scheduler;
    }

    /** Marks the pod serving now, on the caller's thread; when that fails, retries are scheduled. Returns what it did. */
    String markAtStartUp() {
        if (restarts.holdsWithdrawal()) {
            return "a container restart holds the withdrawal: the pod is put back once the container is ready again";
        }
        Optional<Withdrawal.Result> result = maintenance.markServingUnlessActive();
        if (result.isEmpty()) {
            return "in maintenance: the pod stays withdrawn until maintenance ends";
        }
        if (failed(result.get())) {
            retryAfter(FIRST_RETRY, 1);
            return result.get().detail() + "; retrying in the background (the pod is not Ready until it works)";
        }
        return result.get().detail();
    }

    private static boolean failed(Withdrawal.Result result) {
        return result.status() == Withdrawal.Status.DEGRADED;
    }

    private void retryAfter(Duration wait, int attempt) {
        try {
            scheduler.schedule(() -> retry(wait, attempt), wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            LOG.debug("not retrying to mark the pod serving: the agent is stopping");
        }
    }

    private void retry(Duration waited, int attempt) {
        if (lifecycle.state().servingIsOver() || restarts.holdsWithdrawal()) {
            return; // the drain keeps the pod withdrawn; the restart cycle puts it back itself
        }
        Optional<Withdrawal.Result> result = maintenance.markServingUnlessActive();
        if (result.isEmpty()) {
            LOG.info("maintenance began: marking the pod serving is left to its end");
        } else if (!failed(result.get())) {
            LOG.info("marked the pod serving on retry {}: {}", attempt, result.get().detail());
        } else {
            Duration next = waited.multipliedBy(2).compareTo(LONGEST_RETRY) > 0 ? LONGEST_RETRY : waited.multipliedBy(2);
            LOG.warn("marking the pod serving failed again (retry {}): {}; the pod stays unready until it works; next try in {} s",
                    attempt, result.get().detail(), next.toSeconds());
            retryAfter(next, attempt + 1);
        }
    }
}
