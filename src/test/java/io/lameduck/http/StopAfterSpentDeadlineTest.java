package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.TestAgent;
import io.lameduck.lifecycle.State;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Seen in the fault matrix (the agent killed mid-drain and restarted: its drain ends at the deadline, then SIGTERM):
 * a stop with the deadline spent gets {@code Agent.MIN_STOP_GRACE}, and an idle keep-alive connection used to hold it
 * past that (Jetty closes idle connections 1 s into a stop), so the agent exited 5 instead of 0.
 */
class StopAfterSpentDeadlineTest {
    @Test
    void stoppingAfterADrainThatSpentItsDeadlineWithAnIdleKeepAliveConnectionIsClean() throws Exception {
        TestAgent agent = TestAgent.start("drain: {budget: 2s, safetyMargin: 1s, propagationDelay: 100ms, "
                + "hooks: [{name: long, type: sleep, duration: 10s, timeout: 10s}]}\n");
        assertThat(agent.send("POST", "/prestop", null).json().get("outcome").asText()).isEqualTo("deadline_exceeded");
        assertThat(agent.get("/readyz").status()).isEqualTo(503); // leaves an idle keep-alive connection in the client's pool
        long start = System.nanoTime();
        agent.close(); // throws ServerException when the listener does not stop cleanly
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(agent.agent().lifecycle().state()).isEqualTo(State.STOPPED);
    }
}
