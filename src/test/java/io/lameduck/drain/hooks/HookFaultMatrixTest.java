package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import io.lameduck.config.AgentConfig;
import io.lameduck.config.ConfigException;
import io.lameduck.config.ConfigLoader;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.DrainCoordinator;
import io.lameduck.drain.DrainOutcome;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.Drainer;
import io.lameduck.drain.HookReport;
import io.lameduck.drain.Outcome;
import io.lameduck.drain.ProbeWithdrawal;
import io.lameduck.drain.Propagation;
import io.lameduck.drain.Trigger;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.lifecycle.Transition;
import io.lameduck.testsupport.SimulatedExecutor;
import io.lameduck.testsupport.SimulatedTime;
import io.lameduck.time.TimeSource;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fault matrix for drain hooks: each scenario runs a whole drain (real {@link Drainer}, real hooks built from
 * YAML by {@link HookFactory}) and asserts the drain's outcome, the hook's outcome, the state history, and that no
 * process the hook started is left running (the double-forked daemon that starts its own session excepted: see there).
 *
 * <p>Exec and http hooks run real processes and sockets, so their scenarios run in real time and assert what happened,
 * not when: only one smoke test per hook kind ({@code realTimeSmoke...}) bounds its timeout, generously. When hooks
 * time out and where the deadline cuts them is asserted exactly on {@link SimulatedTime}, with sleep hooks: the kind
 * that waits on the agent's clock.
 */
class HookFaultMatrixTest {
    /**
     * How far past its timeout an exec hook may be reported in its smoke test: starting and killing real processes on a
     * loaded machine. Generous on purpose: the exact moment is the simulated tests' job.
     */
    private static final Duration SMOKE_SLACK = Duration.ofSeconds(2);
    /** {@code HookRunner}'s grace for a cancelled hook to stop: one that did not is reported only once it ran out. */
    private static final Duration CANCEL_GRACE = Duration.ofSeconds(1);

    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final SimulatedTime time = new SimulatedTime();
    private final ExecutorService simulatedExecutor = new SimulatedExecutor(time, "hook");
    private final Lifecycle lifecycle = new Lifecycle();
    private final List<Socket> held = new CopyOnWriteArrayList<>();
    private final List<ServerSocket> servers = new CopyOnWriteArrayList<>();
    /** In the command line of every process a scenario starts (as a sleep's seconds or yes's word): " 6" + digits. */
    private final String marker = " 6" + (4000 + ProcessHandle.current().pid() % 1000);

    @AfterEach
    void cleanUp() throws IOException {
        executor.shutdownNow();
        simulatedExecutor.shutdownNow();
        time.close();
        for (Socket socket : held) {
            socket.close();
        }
        for (ServerSocket server : servers) {
            server.close();
        }
        processesMentioning(marker).forEach(ProcessHandle::destroyForcibly);
    }

    /** A drain of {@code hooksYaml} (budget like {@code 20s}, 1 s margin) on {@code clock}, its hooks run by {@code hookExecutor}. */
    private DrainCoordinator coordinator(String budget, String hooksYaml, TimeSource clock, ExecutorService hookExecutor)
            throws ConfigException {
        AgentConfig config = new ConfigLoader(Map.of()).parse("drain:\n  hooks:\n" + hooksYaml);
        lifecycle.moveTo(State.READY, "test");
        Drainer drainer = new Drainer(lifecycle, new ProbeWithdrawal(), HookFactory.createAll(config.drain().hooks(), clock),
                Duration.ofSeconds(1), Propagation.fixed(Duration.ZERO, clock), hookExecutor, clock);
        return new DrainCoordinator(drainer, BudgetSource.fixed(Duration.parse("PT" + budget)),
                Duration.parse("PT" + budget), Duration.ofSeconds(1), clock);
    }

    /** Runs the drain in real time, as the agent does: real processes and sockets take real time. */
    private DrainReport drain(String budget, String hooksYaml) throws Exception {
        DrainReport report = coordinator(budget, hooksYaml, TimeSource.SYSTEM, executor).trigger(Trigger.CLI).get(30, TimeUnit.SECONDS);
        assertThat(lifecycle.snapshot().history()).extracting(Transition::to).containsExactly(State.READY, State.DRAINING, State.DRAINED);
        return report;
    }

    /** Starts the drain on simulated time; returns once it waits on the clock (or has ended). Sleep hooks only. */
    private CompletableFuture<DrainReport> triggerOnSimulatedTime(String budget, String hooksYaml) throws ConfigException {
        return coordinator(budget, hooksYaml, time, simulatedExecutor).trigger(Trigger.CLI);
    }

    /** Moves the simulated time to {@code at} and asserts that the drain ends exactly then: its report says so too. */
    private DrainReport endsAt(CompletableFuture<DrainReport> drain, Duration at) {
        time.advance(at.minus(time.elapsed()).minusNanos(1));
        assertThat(drain).as("still draining a nanosecond before %s", at).isNotDone();
        time.advance(Duration.ofNanos(1));
        assertThat(drain).as("ended at %s", at).isDone();
        DrainReport report = drain.join();
        assertThat(report.durationSeconds()).isEqualTo(at.toNanos() / 1e9);
        assertThat(lifecycle.snapshot().history()).extracting(Transition::to).containsExactly(State.READY, State.DRAINING, State.DRAINED);
        return report;
    }

    private static HookReport only(DrainReport report) {
        assertThat(report.hooks()).hasSize(1);
        return report.hooks().get(0);
    }

    private static String exec(String script, String timeout) {
        return "    - {name: h, type: exec, timeout: " + timeout + ", command: [sh, -c, \"" + script + "\"]}\n";
    }

    private static List<ProcessHandle> processesMentioning(String marker) {
        return ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(marker)).collect(Collectors.toList());
    }

    private void assertNothingLeft() {
        await().atMost(Duration.ofSeconds(3)).until(() -> processesMentioning(marker).stream().allMatch(ProcessTree::isGone));
    }

    @Test
    void aHookThatOutlastsItsTimeoutIsCancelledExactlyAtItAndTheDrainGoesOn() throws Exception {
        CompletableFuture<DrainReport> drain = triggerOnSimulatedTime("20s", "    - {name: h, type: sleep, timeout: 1s, duration: 1h}\n");

        DrainReport report = endsAt(drain, Duration.ofSeconds(1));
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(only(report)).extracting(HookReport::outcome, HookReport::durationSeconds, HookReport::error)
                .containsExactly(Outcome.TIMED_OUT, 1.0, "timed out after 1.000s and was cancelled");
    }

    @Test
    void realTimeSmokeAnExecHookThatHangsIsKilledAtItsTimeoutAndTheDrainGoesOn() throws Exception {
        DrainReport report = drain("20s", exec("sleep" + marker, "1s"));
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(only(report).outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(only(report).durationSeconds()).isBetween(1.0, 1.0 + SMOKE_SLACK.toNanos() / 1e9);
        assertNothingLeft();
    }

    @Test
    void aHookThatIgnoresSigtermIsStillKilled() throws Exception {
        DrainReport report = drain("20s", exec("trap '' TERM INT HUP; sleep 6" + marker + "; sleep 6" + marker, "1s"));
        assertThat(only(report).outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertNothingLeft();
    }

    @Test
    void grandchildrenLeftRunningByASuccessfulHookAreKilled() throws Exception {
        // the shell exits 0 at once; its background job would otherwise outlive the hook, the drain and the agent
        DrainReport report = drain("20s", exec("sleep" + marker + " >/dev/null 2>&1 & exit 0", "5s"));
        assertThat(only(report).outcome()).isEqualTo(Outcome.COMPLETED);
        assertNothingLeft();
    }

    @Test
    void doubleForkedChildrenStayingInTheProcessGroupAreKilled() throws Exception {
        // (sleep &) : the subshell forks sleep and exits, so sleep is re-parented away from the hook before it ends
        DrainReport report = drain("20s", exec("(sleep 6" + marker + " >/dev/null 2>&1 &); exit 0", "5s"));
        assertThat(only(report).outcome()).isEqualTo(Outcome.COMPLETED);
        assertNothingLeft();
    }

    @Test
    void aDaemonThatStartsItsOwnSessionEscapesAndIsLeftToTheContainer() throws Exception {
        // setsid: a new session and process group, re-parented to PID 1 (or the nearest subreaper). No process-tree or
        // process-group walk finds it; in the image tini (PID 1) reaps it when it exits and stopping the container kills
        // it. This documents the limit; the test kills it itself.
        // The hook waits until the daemon has its own session (it writes the file after setsid): otherwise the hook's
        // end could kill the background job before it got there.
        Path started = Files.createTempDirectory("setsid").resolve("started");
        DrainReport report = drain("20s", exec("setsid sh -c 'touch " + started + "; exec sleep 6" + marker + "' >/dev/null 2>&1 < /dev/null & "
                + "while [ ! -e " + started + " ]; do sleep 0.05; done; exit 0", "5s"));
        assertThat(only(report).outcome()).isEqualTo(Outcome.COMPLETED);
        await().atMost(Duration.ofSeconds(10)).until(() -> !processesMentioning(marker).isEmpty());
        assertThat(processesMentioning(marker)).allSatisfy(p -> assertThat(ProcessTree.processGroup(p.pid())).isEqualTo(p.pid()));
    }

    @Test
    void aHookThatCrashesIsFailedWithItsExitCodeAndTheDrainCompletes() throws Exception {
        DrainReport report = drain("20s", exec("echo about to crash; kill -SEGV $$", "5s"));
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(only(report).outcome()).isEqualTo(Outcome.FAILED);
        assertThat(only(report).error()).contains("exited with code 139").contains("about to crash");
    }

    @Test
    void aHookThatFloodsItsOutputCostsBoundedMemoryAndIsKilledAtItsTimeout() throws Exception {
        DrainReport report = drain("20s", exec("yes" + marker, "1s"));
        assertThat(only(report).outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(only(report).error().length()).isLessThan(4096);
        assertNothingLeft();
    }

    @Test
    void anHttpHookWhoseServerAcceptsAndNeverAnswersTimesOut() throws Exception {
        int port = server(socket -> { /* say nothing */ });
        DrainReport report = drain("20s", "    - {name: h, type: http, timeout: 1s, url: \"http://127.0.0.1:" + port + "/drain\"}\n");
        assertThat(only(report).outcome()).isEqualTo(Outcome.TIMED_OUT);
    }

    @Test
    void realTimeSmokeAnHttpHookWhoseServerTricklesItsAnswerTimesOutAtItsTimeout() throws Exception {
        int port = server(socket -> {
            OutputStream out = socket.getOutputStream();
            for (int i = 0; ; i++) { // a status line that never ends, a byte every 50ms
                out.write('H');
                out.flush();
                TimeUnit.MILLISECONDS.sleep(50);
            }
        });
        DrainReport report = drain("20s", "    - {name: h, type: http, timeout: 1s, url: \"http://127.0.0.1:" + port + "/drain\"}\n");
        assertThat(only(report).outcome()).isEqualTo(Outcome.TIMED_OUT);
        // Before the runner's cancel grace ran out: a hook the trickle kept reading would be reported only then.
        assertThat(only(report).durationSeconds()).isGreaterThanOrEqualTo(1.0).isLessThan(1.0 + CANCEL_GRACE.toNanos() / 1e9);
    }

    @Test
    void hookTimeoutsLongerThanTheDeadlineAreCutExactlyAtTheDeadline() throws Exception {
        // 3 s budget - 1 s margin: 2 s usable, of the first hook's 10 s timeout; the second hook's turn never comes.
        CompletableFuture<DrainReport> drain = triggerOnSimulatedTime("3s", "    - {name: h, type: sleep, timeout: 10s, duration: 1h}\n"
                + "    - {name: later, type: sleep, priority: 10, duration: 1s}\n");

        DrainReport report = endsAt(drain, Duration.ofSeconds(2));
        assertThat(report.finishedAt()).as("ended at the deadline").isEqualTo(report.deadline());
        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.hooks()).extracting(HookReport::outcome, HookReport::durationSeconds, HookReport::error).containsExactly(
                tuple(Outcome.TIMED_OUT, 2.0, "cancelled at the drain deadline after 2.000s (its timeout 10.000s did not fit)"),
                tuple(Outcome.SKIPPED, 0.0, "skipped: the drain deadline was reached before this hook's turn"));
    }

    @Test
    void anExecHookCutAtTheDeadlineIsKilledAndTheRestSkipped() throws Exception {
        // When the deadline cuts it is the simulated test's above; here, that the real process cut short is killed.
        DrainReport report = drain("3s", exec("sleep" + marker, "10s")
                + "    - {name: later, type: sleep, priority: 10, duration: 1s}\n");
        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.hooks()).extracting(HookReport::outcome).containsExactly(Outcome.TIMED_OUT, Outcome.SKIPPED);
        assertNothingLeft();
    }

    private interface Conversation {
        void talk(Socket socket) throws Exception;
    }

    private int server(Conversation conversation) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(server);
        Thread thread = new Thread(() -> {
            try {
                while (true) {
                    Socket socket = server.accept();
                    held.add(socket);
                    try {
                        conversation.talk(socket);
                    } catch (Exception peerGone) {
                        // the hook closed the connection
                    }
                }
            } catch (IOException closed) {
                // test over
            }
        });
        thread.setDaemon(true);
        thread.start();
        return server.getLocalPort();
    }
}
