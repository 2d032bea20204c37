package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.drain.HookFailedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecDrainHookTest {
    private static final Duration BUDGET = Duration.ofSeconds(30);

    private static ExecDrainHook hook(List<String> command, Map<String, String> env, Optional<Path> workingDir) {
        return new ExecDrainHook(new ExecHook(new HookCommon("flush", 0, BUDGET, OnFailure.CONTINUE), command, env, workingDir), Setsid.system());
    }

    private static ExecDrainHook shell(String script) {
        return hook(List.of("sh", "-c", script), Map.of(), Optional.empty());
    }

    private static Throwable run(ExecDrainHook hook, Duration budget) throws InterruptedException {
        HookThread running = HookThread.start(hook, budget);
        assertThat(running.awaitDone(Duration.ofSeconds(10))).isTrue();
        return running.failure();
    }

    /** The processes this test JVM started whose command line mentions {@code marker}. */
    private static List<ProcessHandle> processesMentioning(String marker) {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().commandLine().orElse("").contains(marker))
                .collect(Collectors.toList());
    }

    @Test
    void programThatExitsZeroSucceeds() throws Exception {
        assertThat(run(shell("echo flushed"), BUDGET)).isNull();
    }

    @Test
    void nonZeroExitFailsWithTheCodeAndTheCombinedOutput() throws Exception {
        assertThat(run(shell("echo flushing; echo 'queue unreachable' >&2; exit 3"), BUDGET))
                .isInstanceOf(HookFailedException.class)
                .hasMessage("\"sh\" exited with code 3; output: flushing\nqueue unreachable");
    }

    @Test
    void environmentAndWorkingDirectoryAreApplied(@TempDir Path dir) throws Exception {
        ExecDrainHook hook = hook(List.of("sh", "-c", "echo \"$DRAIN_MODE\"; pwd; exit 1"), Map.of("DRAIN_MODE", "fast"), Optional.of(dir));

        assertThat(run(hook, BUDGET)).hasMessageContaining("fast\n" + dir.toRealPath());
    }

    @Test
    void failureMessageKeepsOnlyTheEndOfLongOutput() throws Exception {
        Throwable failure = run(shell("i=0; while [ $i -lt 1000 ]; do echo line$i; i=$((i+1)); done; exit 1"), BUDGET);

        assertThat(failure.getMessage()).contains("output: ...").endsWith("line999").doesNotContain("line0\n");
        assertThat(failure.getMessage().length()).isLessThan(OutputTail.TAIL_BYTES + 100);
    }

    @Test
    void floodingProgramIsDrainedInMemoryKeepingOnlyTheTailAndNothingOnDisk() throws Exception {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        HookThread running = HookThread.start(shell("yes flood | head -c 300000000; echo; echo last words; exit 4"), BUDGET);
        long spooled = 0;
        while (!running.awaitDone(Duration.ofMillis(20))) {
            spooled = Math.max(spooled, spoolBytes(tmp));
        }

        assertThat(spooled).as("bytes of hook output written to " + tmp).isZero();
        assertThat(running.failure()).isInstanceOf(HookFailedException.class)
                .hasMessageStartingWith("\"sh\" exited with code 4; output: ...").hasMessageContaining("flood\nflood")
                .hasMessageEndingWith("flood\n\nlast words");
        assertThat(running.failure().getMessage().length()).isLessThan(OutputTail.TAIL_BYTES + 100);
    }

    private static long spoolBytes(Path dir) throws java.io.IOException {
        try (var files = java.nio.file.Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith("lameduck-hook-")).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    @Test
    void missingProgramFailsSayingItIsNotFound() throws Exception {
        assertThat(run(hook(List.of("/no/such/drain-tool", "--now"), Map.of(), Optional.empty()), BUDGET))
                .isInstanceOf(HookFailedException.class)
                .hasMessageStartingWith("cannot run \"/no/such/drain-tool\": program not found");
    }

    @Test
    void missingWorkingDirectoryFailsNamingIt(@TempDir Path dir) throws Exception {
        Path absent = dir.resolve("absent");

        assertThat(run(hook(List.of("true"), Map.of(), Optional.of(absent)), BUDGET))
                .isInstanceOf(HookFailedException.class)
                .hasMessageStartingWith("workingDir " + absent + " is not a directory");
    }

    @Test
    void interruptedHookKillsTheWholeProcessTree() throws Exception {
        String marker = "sleep 3" + ProcessHandle.current().pid() % 1000 + "1";
        HookThread running = HookThread.start(shell(marker + " & " + marker), BUDGET);
        List<ProcessHandle> tree = awaitBothSleeps(marker);

        running.interrupt();

        assertThat(running.awaitDone(Duration.ofSeconds(3))).isTrue();
        assertThat(running.failure()).isInstanceOf(InterruptedException.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> tree.stream().allMatch(ProcessTree::isGone));
    }

    @Test
    void programOutlivingTheBudgetIsKilledAndReported() throws Exception {
        String marker = "sleep 3" + ProcessHandle.current().pid() % 1000 + "2";
        HookThread running = HookThread.start(shell("echo started; " + marker + " & " + marker), Duration.ofSeconds(1));
        List<ProcessHandle> tree = awaitBothSleeps(marker);

        assertThat(running.awaitDone(Duration.ofSeconds(5))).isTrue();
        assertThat(running.failure()).isInstanceOf(HookFailedException.class)
                .hasMessageStartingWith("\"sh\" did not exit within 1s and was killed; output: started");
        assertThat(tree).allMatch(ProcessTree::isGone);
    }

    /** Both sleeps, whether the shell forks the second one or replaces itself with it. */
    private static List<ProcessHandle> awaitBothSleeps(String marker) {
        await().atMost(Duration.ofSeconds(5)).until(() -> processesMentioning(marker).stream()
                .filter(p -> p.info().command().orElse("").endsWith("sleep")).count() == 2);
        return processesMentioning(marker);
    }
}
