package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.TestAgent;
import io.lameduck.drain.Trigger;
import io.lameduck.lifecycle.State;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The agent is the last of a pod's containers to exit, so the time its stop takes after the drain is added to every
 * termination. Seen on the test node: the kubelet's preStop client keeps the connection its {@code /prestop} came on,
 * and Jetty's stop waited for that idle connection for its default shutdown idle timeout (1 s), so the agent exited
 * 1 s after the app. Closing idle connections at once must not cost a {@code /prestop} its answer, nor a request whose
 * body is still arriving its turn (SignalMilestonesIT).
 */
class StopWithOpenConnectionsTest {
    private static final String CONFIG = "drain: {propagationDelay: 300ms}\n";

    @Test
    void anIdleKeepAliveConnectionDoesNotHoldTheStop() throws Exception {
        TestAgent agent = TestAgent.start(CONFIG);
        assertThat(agent.send("POST", "/prestop", null).json().get("outcome").asText()).isEqualTo("completed");
        assertThat(agent.get("/readyz").status()).isEqualTo(503); // leaves an idle keep-alive connection in the client's pool
        long start = System.nanoTime();
        agent.close();
        // Jetty's default held this stop for 1,000 ms at least; the agent closes a connection between requests at once.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(750));
        assertThat(agent.agent().lifecycle().state()).isEqualTo(State.STOPPED);
    }

    @Test
    void everyPrestopWaitingOnTheDrainGetsItsAnswerWhenTheStopFollowsAtOnce() throws Exception {
        TestAgent agent = TestAgent.start(CONFIG);
        // Several containers' preStops, each on its own connection, idle while the drain runs.
        List<CompletableFuture<TestAgent.Reply>> prestops = IntStream.range(0, 4)
                .mapToObj(i -> CompletableFuture.supplyAsync(() -> agent.send("POST", "/prestop", null)))
                .toList();
        // SIGTERM's path: join the drain, then stop at once, while the answers are being written.
        agent.agent().shutdown(Trigger.SIGNAL);
        for (CompletableFuture<TestAgent.Reply> prestop : prestops) {
            TestAgent.Reply reply = prestop.get();
            assertThat(reply.status()).isEqualTo(200);
            assertThat(reply.json().get("outcome").asText()).isEqualTo("completed");
        }
        assertThat(agent.agent().lifecycle().state()).isEqualTo(State.STOPPED);
    }
}
