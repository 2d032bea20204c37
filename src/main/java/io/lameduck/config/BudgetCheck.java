package io.lameduck.config;

import io.lameduck.config.AgentConfig.Drain;
import io.lameduck.config.AgentConfig.HookAt;
import io.lameduck.config.AgentConfig.HookSpec;
import io.lameduck.time.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Start-up warnings about a drain plan that cannot fit its budget (legal, but worth knowing). */
public final class BudgetCheck {
    private BudgetCheck() {}

    public static List<String> warnings(Drain drain) {
        List<String> warnings = new ArrayList<>();
        Duration usable = drain.budget().minus(drain.safetyMargin());
        // The probe strategy returns at once; the Kubernetes strategies may wait up to their timeout.
        Duration withdraw = drain.withdraw().strategy() == AgentConfig.Strategy.PROBE ? Duration.ZERO : drain.withdraw().timeout();
        Duration propagation = drain.propagation().mode() == AgentConfig.PropagationMode.QUIET
                ? drain.propagation().maximum() : drain.propagationDelay();
        // Hooks at the trigger run beside the withdrawal and the propagation; the hooks at quiet wait for both.
        Duration worstCase = max(withdraw.plus(propagation), sequential(drain.hooks(), HookAt.TRIGGER))
                .plus(sequential(drain.hooks(), HookAt.QUIET));
        if (worstCase.compareTo(usable) > 0) {
            warnings.add("drain.hooks: " + (withdraw.isZero() ? "" : "withdraw timeout " + Durations.format(withdraw) + " + ")
                    + (drain.propagation().mode() == AgentConfig.PropagationMode.QUIET ? "propagation maximum " : "propagation delay ")
                    + Durations.format(propagation)
                    + " + hook timeouts (run in sequence by priority; those at the trigger beside the withdrawal) add up to " + Durations.format(worstCase)
                    + ", more than the usable budget " + Durations.format(usable)
                    + " (drain.budget - drain.safetyMargin); late hooks will be cut short or skipped at the deadline");
        }
        return warnings;
    }

    /** Hooks of one priority run together, so a group costs its longest timeout; groups run in sequence. */
    private static Duration sequential(List<HookSpec> hooks, HookAt at) {
        Map<Integer, Duration> groups = new TreeMap<>();
        for (HookSpec hook : hooks) {
            if (hook.common().at() == at) {
                groups.merge(hook.common().priority(), hook.common().timeout(), BudgetCheck::max);
            }
        }
        return groups.values().stream().reduce(Duration.ZERO, Duration::plus);
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
