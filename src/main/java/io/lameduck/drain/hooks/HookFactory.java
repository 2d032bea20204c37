package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.AgentConfig.HookSpec;
import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.drain.Hook;

/**
 * Builds the runnable {@link Hook} for a validated hook spec. Creating a hook starts nothing (no thread, process or
 * connection); all work happens in {@link Hook#run}.
 */
public final class HookFactory {
    private HookFactory() {}

    public static Hook create(HookSpec spec) {
        if (spec instanceof HttpHook http) {
            return new HttpDrainHook(http);
        }
        if (spec instanceof ExecHook exec) {
            return new ExecDrainHook(exec);
        }
        if (spec instanceof SleepHook sleep) {
            return new SleepDrainHook(sleep);
        }
        if (spec instanceof WaitIdleHook waitIdle) {
            return new WaitIdleDrainHook(waitIdle, TcpConnectionTable.system());
        }
        // HookSpec is sealed: only a new kind added to AgentConfig without a hook here gets this far.
        throw new IllegalArgumentException("no hook implementation for kind " + spec.kind());
    }
}
