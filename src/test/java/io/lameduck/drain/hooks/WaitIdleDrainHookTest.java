package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.config.Cidr;
import io.lameduck.drain.HookFailedException;
import io.lameduck.sockets.ProcNetSamples;
import io.lameduck.sockets.TcpConnectionTable;
import io.lameduck.testsupport.SimulatedTime;
import io.lameduck.time.TimeSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wait-idle hook on {@link SimulatedTime} with a scripted {@code /proc/net/tcp}: the test opens and closes
 * connections while the hook sleeps between polls, and asserts the exact moment it ends (not a nanosecond before, at
 * that moment), in no real time. One smoke test runs it on the real clock and the real connection table.
 */
class WaitIdleDrainHookTest {
    private static final int PORT = 8080;
    private static final Duration QUIET = Duration.ofMillis(500);
    private static final Duration POLL = Duration.ofMillis(50);
    private static final Duration LONG_BUDGET = Duration.ofMinutes(1);

    private final SimulatedTime time = new SimulatedTime();
    @TempDir
    Path dir;
    private ScriptedTable table;

    @BeforeEach
    void emptyTable() {
        table = new ScriptedTable(dir);
    }

    @AfterEach
    void close() {
        time.close();
    }

    /**
     * A scripted {@code /proc/net/tcp} holding a socket listening on {@link #PORT} and the ESTABLISHED connections to
     * it from 127.0.0.1 the test opens. It is rewritten only while the hook sleeps on the simulated time, so every poll
     * reads a whole table.
     */
    private static final class ScriptedTable {
        private final Path tcp;
        private final Set<Integer> peerPorts = new TreeSet<>();
        final TcpConnectionTable table;

        ScriptedTable(Path dir) {
            this.tcp = dir.resolve("tcp");
            this.table = new TcpConnectionTable(tcp, dir.resolve("tcp6-absent"), ByteOrder.LITTLE_ENDIAN);
            write();
        }

        void open(int peerPort) {
            peerPorts.add(peerPort);
            write();
        }

        void close(int peerPort) {
            peerPorts.remove(peerPort);
            write();
        }

        private void write() {
            List<String> lines = new ArrayList<>();
            lines.add("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode");
            lines.add(String.format("   0: 00000000:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1001 1 0000000000000000 100 0 0 10 0", PORT));
            for (int peerPort : peerPorts) {
                lines.add(String.format("   %d: 0100007F:%04X 0100007F:%04X 01 00000000:00000000 02:000A7B2C 00000000  1000        0 %d 2 0000000000000000 20 4 30 10 -1",
                        lines.size() - 1, PORT, peerPort, 2000 + peerPort));
            }
            try {
                Files.writeString(tcp, String.join("\n", lines) + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static WaitIdleDrainHook hook(Duration quiet, List<Cidr> ignorePeers, TcpConnectionTable table, TimeSource time) {
        return new WaitIdleDrainHook(new WaitIdleHook(new HookCommon("idle", 0, LONG_BUDGET, OnFailure.CONTINUE),
                List.of(PORT), quiet, POLL, ignorePeers), table, time);
    }

    private SimulatedTime.Task<Void> run(WaitIdleDrainHook hook, Duration budget) {
        return SimulatedHook.run(time, hook, budget);
    }

    private SimulatedTime.Task<Void> run(Duration quiet, Duration budget) {
        return run(hook(quiet, List.of(), table.table, time), budget);
    }

    /** Advances to {@code at}, where the test then changes the table. */
    private void advanceTo(Duration at) {
        time.advance(at.minus(time.elapsed()));
    }

    private void endsAt(SimulatedTime.Task<Void> hook, Duration at) {
        SimulatedHook.endsAt(time, hook, at);
    }

    @Test
    void waitsWhileAConnectionIsOpenAndFinishesAQuietPeriodAfterThePollThatSawItClosed() throws Exception {
        table.open(54321);
        SimulatedTime.Task<Void> hook = run(QUIET, LONG_BUDGET);

        advanceTo(Duration.ofMillis(1020));
        assertThat(hook.isDone()).isFalse();
        table.close(54321);

        endsAt(hook, Duration.ofMillis(1050).plus(QUIET)); // the poll at 1050ms sees it closed
        hook.result(); // returned normally
    }

    @Test
    void aConnectionDuringTheQuietPeriodStartsItAgain() throws Exception {
        table.open(54321);
        SimulatedTime.Task<Void> hook = run(QUIET, LONG_BUDGET);
        advanceTo(Duration.ofMillis(20));
        table.close(54321); // quiet from the poll at 50ms

        advanceTo(Duration.ofMillis(320));
        table.open(54322); // seen at 350ms, before the quiet period ended at 550ms
        advanceTo(Duration.ofMillis(420));
        table.close(54322); // quiet again from the poll at 450ms

        endsAt(hook, Duration.ofMillis(450).plus(QUIET));
        hook.result();
    }

    @Test
    void aQuietPeriodThatIsNoMultipleOfThePollIntervalEndsExactlyWhenItIsOver() throws Exception {
        table.open(54321);
        SimulatedTime.Task<Void> hook = run(Duration.ofMillis(120), LONG_BUDGET);
        advanceTo(Duration.ofMillis(20));
        table.close(54321);

        endsAt(hook, Duration.ofMillis(50 + 120)); // quiet from 50ms; the last sleep is cut to 20ms
        hook.result();
    }

    @Test
    void noConnectionAndNoQuietPeriodReturnsAtOnce() throws Exception {
        SimulatedTime.Task<Void> hook = run(Duration.ZERO, LONG_BUDGET);

        assertThat(hook.isDone()).isTrue();
        assertThat(time.elapsed()).isZero();
        hook.result();
    }

    @Test
    void returnsAtOnceWhenTheOnlyPeerIsIgnored() throws Exception {
        table.open(54321);
        SimulatedTime.Task<Void> hook = run(hook(Duration.ZERO, List.of(Cidr.parse("127.0.0.0/8").orElseThrow()), table.table, time),
                LONG_BUDGET);

        assertThat(hook.isDone()).isTrue();
        assertThat(time.elapsed()).isZero();
        hook.result();
    }

    @Test
    void interruptedWhileConnectionsRemainEndsAtOnceWithInterruptedException() {
        table.open(54321);

        Throwable failure = SimulatedHook.interruptedAt(time, hook(QUIET, List.of(), table.table, time), LONG_BUDGET, Duration.ofSeconds(59));

        assertThat(failure).isInstanceOf(InterruptedException.class);
    }

    @Test
    void budgetSpentWhileConnectionsRemainFailsAtItsEndNamingTheRemainingPeers() {
        table.open(54321);
        SimulatedTime.Task<Void> hook = run(QUIET, Duration.ofMillis(320));

        endsAt(hook, Duration.ofMillis(320)); // the last sleep is cut from 50ms to 20ms
        assertThatThrownBy(hook::result).isInstanceOf(HookFailedException.class)
                .hasMessage("still not idle after 320ms: 1 established connection(s) remain (127.0.0.1:54321 on port 8080)");
    }

    @Test
    void budgetSpentDuringTheQuietPeriodFailsSayingHowLongItWasQuiet() {
        table.open(54321);
        SimulatedTime.Task<Void> hook = run(QUIET, Duration.ofMillis(400));
        advanceTo(Duration.ofMillis(120));
        table.close(54321); // quiet from the poll at 150ms

        endsAt(hook, Duration.ofMillis(400));
        assertThatThrownBy(hook::result).isInstanceOf(HookFailedException.class)
                .hasMessage("still not idle after 400ms: connections closed only in the last 250ms, less than the quiet period 500ms");
    }

    @Test
    void anUnreadableTableFailsAtOnce() {
        WaitIdleDrainHook hook = hook(QUIET, List.of(), new TcpConnectionTable(dir.resolve("no-tcp"), dir.resolve("no-tcp6")), time);
        SimulatedTime.Task<Void> running = run(hook, LONG_BUDGET);

        assertThat(running.isDone()).isTrue();
        assertThat(time.elapsed()).isZero();
        assertThatThrownBy(running::result).isInstanceOf(HookFailedException.class)
                .hasMessageStartingWith("cannot read the TCP connection table: ");
    }

    @Test
    void failureMessageListsOnlyPeersOutsideIgnoredNetworksFromSampleTables() throws Exception {
        TcpConnectionTable samples = ProcNetSamples.table(Files.createDirectory(dir.resolve("samples")));
        WaitIdleDrainHook hook = hook(QUIET, List.of(Cidr.parse("10.0.0.0/24").orElseThrow()), samples, time);
        SimulatedTime.Task<Void> running = run(hook, Duration.ofMillis(100));

        endsAt(running, Duration.ofMillis(100));
        assertThatThrownBy(running::result).isInstanceOf(HookFailedException.class)
                .hasMessage("still not idle after 100ms: 2 established connection(s) remain (127.0.0.1:54321 on port 8080, "
                        + "[fd00:0:0:0:0:0:0:5]:50003 on port 8080); peers in [10.0.0.0/24] are not counted");
    }

    /**
     * Smoke test on the real clock and the real connection table: the agent's hook polls {@code /proc/net/tcp} on
     * {@link TimeSource#SYSTEM}, sees a loopback connection that stays open and fails when its budget is spent.
     */
    @Test
    void smokeTestOnTheSystemClockAndTableARealConnectionOutlastsTheBudget() throws Exception {
        try (ServerSocket server = new ServerSocket(0);
                Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                Socket accepted = server.accept()) {
            WaitIdleDrainHook hook = new WaitIdleDrainHook(new WaitIdleHook(new HookCommon("idle", 0, LONG_BUDGET, OnFailure.CONTINUE),
                    List.of(server.getLocalPort()), QUIET, POLL, List.of()), TcpConnectionTable.system(), TimeSource.SYSTEM);
            long start = System.nanoTime();
            HookThread running = HookThread.start(hook, Duration.ofMillis(300));

            assertThat(running.awaitDone(Duration.ofSeconds(5))).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            assertThat(running.failure()).isInstanceOf(HookFailedException.class)
                    .hasMessageContaining("still not idle after 300ms")
                    .hasMessageContaining("1 established connection(s) remain")
                    .hasMessageContaining("127.0.0.1:" + client.getLocalPort() + " on port " + server.getLocalPort());
        }
    }
}
