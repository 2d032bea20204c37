package io.lameduck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lameduck.config.ConfigLoader;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.Trigger;
import io.lameduck.lifecycle.State;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Agent#shutdown}: the whole termination in one call, which is all the CLI's signal handling does. */
class AgentShutdownTest {
    private static final String CONFIG = """
            drain:
              budget: 10s
              safetyMargin: 1s
              propagationDelay: 100ms
            """;

    @Test
    void shutdownDrainsThenStopsAndReturnsTheReport() throws Exception {
        try (TestAgent running = TestAgent.start(CONFIG)) {
            DrainReport report = running.agent().shutdown(Trigger.SIGNAL);

            assertThat(report.trigger()).isEqualTo(Trigger.SIGNAL);
            assertThat(running.agent().lifecycle().state()).isEqualTo(State.STOPPED);
        }
    }

    @Test
    void shutdownJoinsADrainAlreadyUnderWayInsteadOfStartingAnother() throws Exception {
        try (TestAgent running = TestAgent.start(CONFIG)) {
            CompletableFuture<DrainReport> prestop = running.agent().drain(Trigger.PRESTOP);

            DrainReport report = running.agent().shutdown(Trigger.SIGNAL);

            assertThat(report).isSameAs(prestop.get(5, TimeUnit.SECONDS));
            assertThat(report.trigger()).isEqualTo(Trigger.PRESTOP);
        }
    }

    @Test
    void shutdownOfAnAgentStillStartingWaitsForTheStartUpBeforeItStops() throws Exception {
        Agent agent = Agent.create(new ConfigLoader(Map.of()).parse("server: {host: 127.0.0.1, port: 0}\n" + CONFIG));
        CompletableFuture<DrainReport> shutdown = CompletableFuture.supplyAsync(() -> {
            try {
                return agent.shutdown(Trigger.SIGNAL);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        agent.drain(Trigger.SIGNAL).get(10, TimeUnit.SECONDS); // the drain shutdown runs (or joins) is over
        // ... and shutdown stays unfinished: a stop that did not wait for start() would follow within milliseconds.
        await("shutdown waiting for start() to have returned").during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                .until(() -> !shutdown.isDone());

        agent.start(); // the listener opens; the start-up steps are skipped: a drain began

        assertThat(shutdown.get(10, TimeUnit.SECONDS).trigger()).isEqualTo(Trigger.SIGNAL);
        assertThat(agent.lifecycle().state()).isEqualTo(State.STOPPED);
    }
}
