package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * Everything a drain did, in order. Returned to {@code /prestop} callers, kept in {@code /status},
 * logged as one JSON line and exported as metrics.
 *
 * @param cause who is taking the pod away, when the pod said so at the drain's start (the kubelet's eviction Event, a
 *     {@code DisruptionTarget} condition); null when it did not, as for a rollout's deletion or a container restart
 * @param deadlineSource where the deadline came from (configured budget, the pod's deletionTimestamp, ...)
 * @param finishedAt null while the drain is running
 * @param traffic new connections to the application after the withdrawal; null when no application port is known
 * @param withdrawal what the withdraw step saw on the EndpointSlices (null when it has not run or had nothing to tell)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DrainReport(
        String id, Trigger trigger, Cause cause, DrainOutcome outcome, Instant startedAt, Instant finishedAt, Instant deadline,
        String deadlineSource, double durationSeconds, List<StepReport> steps, WithdrawalReport withdrawal,
        List<HookReport> hooks, TrafficReport traffic) {
    public DrainReport {
        steps = List.copyOf(steps);
        hooks = List.copyOf(hooks);
    }

    public DrainReport(String id, Trigger trigger, DrainOutcome outcome, Instant startedAt, Instant finishedAt, Instant deadline,
            String deadlineSource, double durationSeconds, List<StepReport> steps, List<HookReport> hooks) {
        this(id, trigger, null, outcome, startedAt, finishedAt, deadline, deadlineSource, durationSeconds, steps, null, hooks, null);
    }

    @JsonIgnore
    public boolean isFinished() {
        return outcome != DrainOutcome.RUNNING;
    }

    /** One line for logs and Kubernetes Events. */
    public String summary() {
        long failedHooks = hooks.stream().filter(h -> h.outcome() != Outcome.COMPLETED).count();
        return String.format("drain %s (%s%s) %s in %.2fs: %d steps, %d hooks (%d not completed)",
                id, trigger.label(), cause == null ? "" : "; cause " + cause, outcome.label(), durationSeconds, steps.size(), hooks.size(),
                failedHooks);
    }
}
