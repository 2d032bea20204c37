package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.HookAt;
import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.HookSpec;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.drain.Hook;
import java.time.Duration;

/** What every hook kind shares: the identity and scheduling fields of its spec. */
abstract class AbstractDrainHook implements Hook {
    private final HookCommon common;
    private final String kind;

    AbstractDrainHook(HookSpec spec) {
        this.common = spec.common();
        this.kind = spec.kind();
    }

    @Override
    public final String name() {
        return common.name();
    }

    @Override
    public final String kind() {
        return kind;
    }

    @Override
    public final int priority() {
        return common.priority();
    }

    @Override
    public final Duration timeout() {
        return common.timeout();
    }

    @Override
    public final boolean atTrigger() {
        return common.at() == HookAt.TRIGGER;
    }

    @Override
    public final boolean abortsDrainOnFailure() {
        return common.onFailure() == OnFailure.ABORT;
    }

    @Override
    public String toString() {
        return kind + " hook " + name();
    }
}
