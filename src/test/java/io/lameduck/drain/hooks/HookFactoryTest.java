package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.drain.Hook;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HookFactoryTest {
    @Test
    void eachKindOfSpecBecomesAHookOfThatKindWithItsCommonFields() {
        HookCommon abort = new HookCommon("tell-app", 10, Duration.ofSeconds(5), OnFailure.ABORT);
        HookCommon proceed = new HookCommon("other", -3, Duration.ofSeconds(7), OnFailure.CONTINUE);

        Hook http = HookFactory.create(new HttpHook(abort, "POST", URI.create("http://127.0.0.1:8080/drain"), Map.of(), 0,
                Duration.ofSeconds(1), Duration.ofSeconds(5)));
        Hook exec = HookFactory.create(new ExecHook(proceed, List.of("true"), Map.of(), Optional.empty()));
        Hook sleep = HookFactory.create(new SleepHook(proceed, Duration.ofSeconds(1)));
        Hook waitIdle = HookFactory.create(new WaitIdleHook(proceed, List.of(8080), Duration.ofSeconds(1), Duration.ofMillis(200), List.of()));

        assertThat(List.of(http, exec, sleep, waitIdle)).extracting(Hook::kind).containsExactly("http", "exec", "sleep", "wait-idle");
        assertThat(http).extracting(Hook::name, Hook::priority, Hook::timeout, Hook::abortsDrainOnFailure)
                .containsExactly("tell-app", 10, Duration.ofSeconds(5), true);
        assertThat(exec).extracting(Hook::name, Hook::priority, Hook::timeout, Hook::abortsDrainOnFailure)
                .containsExactly("other", -3, Duration.ofSeconds(7), false);
    }
}
