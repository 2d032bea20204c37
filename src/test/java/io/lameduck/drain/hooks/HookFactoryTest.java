package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.HookSpec;
import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.drain.Hook;
import io.lameduck.logging.LogCapture;
import io.lameduck.time.TimeSource;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

class HookFactoryTest {
    private static final HookCommon PROCEED = new HookCommon("other", -3, Duration.ofSeconds(7), OnFailure.CONTINUE);
    private LogCapture logs;

    @BeforeEach
    void captureLogs() {
        logs = LogCapture.of(HookFactory.class);
    }

    @AfterEach
    void releaseLogs() {
        logs.close();
    }

    @Test
    void eachKindOfSpecBecomesAHookOfThatKindWithItsCommonFields() {
        HookCommon abort = new HookCommon("tell-app", 10, Duration.ofSeconds(5), OnFailure.ABORT);

        List<Hook> hooks = HookFactory.createAll(List.of(
                new HttpHook(abort, "POST", URI.create("http://127.0.0.1:8080/drain"), Map.of(), 0, Duration.ofSeconds(1), Duration.ofSeconds(5)),
                new ExecHook(PROCEED, List.of("true"), Map.of(), Optional.empty()),
                new SleepHook(PROCEED, Duration.ofSeconds(1)),
                new WaitIdleHook(PROCEED, List.of(8080), Duration.ofSeconds(1), Duration.ofMillis(200), List.of())), TimeSource.SYSTEM);

        assertThat(hooks).extracting(Hook::kind).containsExactly("http", "exec", "sleep", "wait-idle");
        assertThat(hooks.get(0)).extracting(Hook::name, Hook::priority, Hook::timeout, Hook::abortsDrainOnFailure)
                .containsExactly("tell-app", 10, Duration.ofSeconds(5), true);
        assertThat(hooks.get(1)).extracting(Hook::name, Hook::priority, Hook::timeout, Hook::abortsDrainOnFailure)
                .containsExactly("other", -3, Duration.ofSeconds(7), false);
    }

    @Test
    void withoutSetsidOneWarningForAllExecHooksSaysWhatIsLostAndHowToFixItAndTheHooksStillRun(@TempDir Path dir) throws Exception {
        Path noSetsid = Files.createDirectory(dir.resolve("bin"));
        Path flushGroup = dir.resolve("flush.stat");
        Path notifyGroup = dir.resolve("notify.stat");

        List<Hook> hooks = HookFactory.createAll(List.of(
                writesItsProcStat("flush", flushGroup), new SleepHook(PROCEED, Duration.ofMillis(1)), writesItsProcStat("notify", notifyGroup)),
                Setsid.find(List.of(noSetsid)), TimeSource.SYSTEM);
        hooks.get(0).run(Duration.ofSeconds(10));
        hooks.get(2).run(Duration.ofSeconds(10));

        assertThat(logs.messages(Level.WARN)).singleElement().asString()
                .contains("exec hooks [flush, notify] will run without a process group of their own: no setsid in " + noSetsid)
                .contains("double-forked grandchildren) cannot be killed as a group")
                .contains("Fix: install util-linux (it provides setsid) in the agent's image");
        // Launched without setsid: each program stays in the agent's process group instead of leading its own.
        assertThat(leadsItsOwnProcessGroup(flushGroup)).isFalse();
        assertThat(leadsItsOwnProcessGroup(notifyGroup)).isFalse();
    }

    @Test
    void withSetsidNoWarningAndEachExecHookLeadsItsOwnProcessGroup(@TempDir Path dir) throws Exception {
        Setsid system = Setsid.system();
        assumeTrue(system.available(), "this machine has no setsid in " + Setsid.STANDARD_DIRECTORIES);
        Path stat = dir.resolve("flush.stat");

        List<Hook> hooks = HookFactory.createAll(List.of(writesItsProcStat("flush", stat)), system, TimeSource.SYSTEM);
        hooks.get(0).run(Duration.ofSeconds(10));

        assertThat(logs.events()).noneMatch(e -> e.level().toInt() >= Level.WARN.toInt());
        assertThat(leadsItsOwnProcessGroup(stat)).isTrue();
    }

    @Test
    void noExecHookNoWarningEvenWithoutSetsid(@TempDir Path noSetsid) {
        HookFactory.createAll(List.of(new SleepHook(PROCEED, Duration.ofMillis(1))), Setsid.find(List.of(noSetsid)), TimeSource.SYSTEM);

        assertThat(logs.events()).noneMatch(e -> e.level().toInt() >= Level.WARN.toInt());
    }

    /** An exec hook whose shell copies its own /proc/PID/stat ("pid (comm) S ppid pgrp ...") to {@code out}. */
    private static HookSpec writesItsProcStat(String name, Path out) {
        return new ExecHook(new HookCommon(name, 0, Duration.ofSeconds(10), OnFailure.CONTINUE),
                List.of("sh", "-c", "cat /proc/$$/stat > '" + out + "'"), Map.of(), Optional.empty());
    }

    private static boolean leadsItsOwnProcessGroup(Path stat) throws Exception {
        String line = Files.readString(stat);
        String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
        return line.substring(0, line.indexOf(' ')).equals(fields[2]);
    }
}
