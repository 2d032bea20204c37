package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.config.Cidr;
import io.lameduck.drain.HookFailedException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WaitIdleDrainHookTest {
    private static final Duration QUIET = Duration.ofMillis(500);
    private static final Duration POLL = Duration.ofMillis(50);
    private static final Duration LONG_BUDGET = Duration.ofMinutes(1);

    private ServerSocket server;
    private Socket client;
    private Socket accepted;

    @BeforeEach
    void connectAClient() throws IOException {
        server = new ServerSocket(0);
        client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        accepted = server.accept();
    }

    @AfterEach
    void closeAll() throws IOException {
        client.close();
        accepted.close();
        server.close();
    }

    private WaitIdleDrainHook hook(Duration quiet, List<Cidr> ignorePeers, TcpConnectionTable table) {
        return new WaitIdleDrainHook(new WaitIdleHook(new HookCommon("idle", 0, LONG_BUDGET, OnFailure.CONTINUE),
                List.of(server.getLocalPort()), quiet, POLL, ignorePeers), table);
    }

    @Test
    void waitsWhileAConnectionIsOpenAndFinishesAQuietPeriodAfterItCloses() throws Exception {
        HookThread running = HookThread.start(hook(QUIET, List.of(), TcpConnectionTable.system()), LONG_BUDGET);

        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> !running.isDone());
        long closed = System.nanoTime();
        client.close();
        accepted.close();

        assertThat(running.awaitDone(QUIET.plusSeconds(2))).isTrue();
        assertThat(running.failure()).isNull();
        assertThat(Duration.ofNanos(System.nanoTime() - closed)).isBetween(QUIET, QUIET.plusSeconds(2));
    }

    @Test
    void returnsAtOnceWhenTheOnlyPeerIsIgnored() throws Exception {
        HookThread running = HookThread.start(
                hook(Duration.ZERO, List.of(Cidr.parse("127.0.0.0/8").orElseThrow()), TcpConnectionTable.system()), LONG_BUDGET);

        assertThat(running.awaitDone(Duration.ofSeconds(1))).isTrue();
        assertThat(running.failure()).isNull();
    }

    @Test
    void interruptedWhileConnectionsRemainEndsPromptlyWithInterruptedException() throws Exception {
        HookThread running = HookThread.start(hook(QUIET, List.of(), TcpConnectionTable.system()), LONG_BUDGET);
        await().during(POLL.multipliedBy(4)).atMost(Duration.ofSeconds(1)).until(() -> !running.isDone());

        running.interrupt();

        assertThat(running.awaitDone(Duration.ofSeconds(1))).isTrue();
        assertThat(running.failure()).isInstanceOf(InterruptedException.class);
    }

    @Test
    void budgetSpentWhileConnectionsRemainFailsNamingTheRemainingPeers() throws Exception {
        HookThread running = HookThread.start(hook(QUIET, List.of(), TcpConnectionTable.system()), Duration.ofMillis(300));

        assertThat(running.awaitDone(Duration.ofSeconds(3))).isTrue();
        assertThat(running.failure()).isInstanceOf(HookFailedException.class)
                .hasMessageContaining("still not idle after 300ms")
                .hasMessageContaining("1 established connection(s) remain")
                .hasMessageContaining("127.0.0.1:" + client.getLocalPort() + " on port " + server.getLocalPort());
    }

    @Test
    void failureMessageListsOnlyPeersOutsideIgnoredNetworksFromSampleTables(@TempDir Path dir) throws Exception {
        WaitIdleDrainHook hook = new WaitIdleDrainHook(new WaitIdleHook(new HookCommon("idle", 0, LONG_BUDGET, OnFailure.CONTINUE),
                List.of(8080), QUIET, POLL, List.of(Cidr.parse("10.0.0.0/24").orElseThrow())), ProcNetSamples.table(dir));
        HookThread running = HookThread.start(hook, Duration.ofMillis(100));

        assertThat(running.awaitDone(Duration.ofSeconds(3))).isTrue();
        assertThat(running.failure()).isInstanceOf(HookFailedException.class)
                .hasMessage("still not idle after 100ms: 2 established connection(s) remain (127.0.0.1:54321 on port 8080, "
                        + "[fd00:0:0:0:0:0:0:5]:50003 on port 8080); peers in [10.0.0.0/24] are not counted");
    }
}
