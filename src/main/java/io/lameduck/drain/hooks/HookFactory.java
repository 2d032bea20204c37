package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.AgentConfig.HookSpec;
import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.drain.Hook;
import io.lameduck.sockets.TcpConnectionTable;
import io.lameduck.time.TimeSource;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the runnable {@link Hook}s for validated hook specs. Creating hooks starts nothing (no thread, process or
 * connection); all work happens in {@link Hook#run}.
 */
public final class HookFactory {
    private static final Logger LOG = LoggerFactory.getLogger(HookFactory.class);

    private HookFactory() {}

    /**
     * The agent's hooks, in the order given. Called once per agent: when exec hooks are configured and the container
     * has no {@code setsid}, it says so here, once, rather than on every hook run. Hooks that wait ({@code sleep},
     * {@code wait-idle}) wait on {@code time} ({@link TimeSource#SYSTEM} in the agent).
     */
    public static List<Hook> createAll(List<HookSpec> specs, TimeSource time) {
        return createAll(specs, Setsid.system(), time);
    }

    static List<Hook> createAll(List<HookSpec> specs, Setsid setsid, TimeSource time) {
        List<String> execHooks = specs.stream().filter(ExecHook.class::isInstance).map(spec -> spec.common().name()).toList();
        if (!execHooks.isEmpty() && !setsid.available()) {
            LOG.warn("exec hooks {} will run without a process group of their own: no setsid in {}. Processes a hook leaves "
                    + "running (background jobs, double-forked grandchildren) cannot be killed as a group when it ends or "
                    + "times out, only its direct descendants; they may outlive the drain. Fix: install util-linux (it "
                    + "provides setsid) in the agent's image", execHooks,
                    setsid.searched().stream().map(Object::toString).collect(Collectors.joining(", ")));
        }
        return specs.stream().map(spec -> create(spec, setsid, time)).toList();
    }

    private static Hook create(HookSpec spec, Setsid setsid, TimeSource time) {
        if (spec instanceof HttpHook http) {
            return new HttpDrainHook(http);
        }
        if (spec instanceof ExecHook exec) {
            return new ExecDrainHook(exec, setsid);
        }
        if (spec instanceof SleepHook sleep) {
            return new SleepDrainHook(sleep, time);
        }
        if (spec instanceof WaitIdleHook waitIdle) {
            return new WaitIdleDrainHook(waitIdle, TcpConnectionTable.system(), time);
        }
        // HookSpec is sealed: only a new kind added to AgentConfig without a hook here gets this far.
        throw new IllegalArgumentException("no hook implementation for kind " + spec.kind());
    }
}
