package io.lameduck.restart;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.drain.DrainOutcome;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.Trigger;
import io.lameduck.drain.Withdrawal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The restart cycle's decisions, driven by pod states as the kubelet writes them (see the kubelet's kuberuntime: a liveness
 * kill shows up as a higher restartCount, often without a terminated state in between; a crash first as a terminated
 * state). The withdrawal is a future the test completes; the pod's own node test proves it on the real kubelet.
 */
class RestartCycleTest {
    private static final Duration NO_WAIT = Duration.ZERO;

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final List<String> withdrawals = new CopyOnWriteArrayList<>();
    private final AtomicInteger restores = new AtomicInteger();
    private final AtomicBoolean maintenanceOn = new AtomicBoolean();
    private final List<RestartStatus> ended = new CopyOnWriteArrayList<>();
    private final CompletableFuture<DrainReport> withdrawal = new CompletableFuture<>();
    /** The withdrawal's deadline: now, so a cycle waiting for a kill waits only the kill grace. */
    private final Instant deadline = Instant.now();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private RestartCycle cycle(Duration killGrace) {
        RestartCycle cycle = new RestartCycle((trigger, propagate) -> {
            withdrawals.add(trigger.label() + (propagate ? " with propagation" : " without propagation"));
            return withdrawal;
        }, () -> {
            if (maintenanceOn.get()) {
                return Optional.empty();
            }
            restores.incrementAndGet();
            return Optional.of(new Withdrawal.Result(Withdrawal.Status.CONFIRMED, "readiness gate True"));
        }, scheduler, killGrace, Clock.systemUTC());
        cycle.addListener(ended::add);
        return cycle;
    }

    private void withdrawn(Trigger trigger) {
        withdrawal.complete(new DrainReport("restart-1", trigger, DrainOutcome.COMPLETED, Instant.now(), Instant.now(), deadline,
                "test", 0.1, List.of(), List.of()));
    }

    private static PodFacts pod(ContainerState... containers) {
        return new PodFacts(false, Optional.empty(), List.of(containers));
    }

    private static ContainerState running(String name, int restarts, boolean ready) {
        return new ContainerState(name, restarts, true, ready, restarts == 0 ? Optional.empty() : Optional.of("Error (exit 143)"));
    }

    private static ContainerState exited(String name, int restarts, String how) {
        return new ContainerState(name, restarts, false, false, Optional.of(how));
    }

    @Test
    void aPrestopWithdrawsWaitsForTheKillAndPutsThePodBackOnceTheRestartedContainerIsReady() {
        RestartCycle cycle = cycle(Duration.ofMinutes(1));
        PodFacts before = pod(running("app", 0, true), running("lameduck", 0, true));
        CompletableFuture<DrainReport> report = cycle.prestop(Optional.of(before), RestartCycleTest::noDrain);

        assertThat(withdrawals).containsExactly("container-restart with propagation");
        assertThat(cycle.holdsWithdrawal()).isTrue();
        assertThat(cycle.status().phase()).isEqualTo("withdrawing");
        assertThat(cycle.prestop(Optional.of(before), RestartCycleTest::noDrain)).as("a second /prestop joins the cycle").isSameAs(report);
        withdrawn(Trigger.CONTAINER_RESTART);
        assertThat(report).isCompleted();
        assertThat(cycle.status().phase()).isEqualTo("awaiting-kill");

        // The kubelet restarts the container in one sync: the next status already shows the new one, not ready yet.
        cycle.podChanged(pod(running("app", 1, false), running("lameduck", 0, true)));
        assertThat(cycle.status().phase()).isEqualTo("awaiting-ready");
        assertThat(cycle.status().containers()).containsExactly("app");
        assertThat(restores).hasValue(0);

        cycle.podChanged(pod(running("app", 1, true), running("lameduck", 0, false)));
        assertThat(restores).hasValue(1);
        assertThat(cycle.holdsWithdrawal()).isFalse();
        assertThat(ended).singleElement().satisfies(end -> {
            assertThat(end.phase()).isEqualTo("restored");
            assertThat(end.trigger()).isEqualTo(Trigger.CONTAINER_RESTART);
            assertThat(end.drainId()).isEqualTo("restart-1");
            assertThat(end.detail()).contains("app", "restarted and ready again", "readiness gate True");
        });
    }

    @Test
    void aCrashWithdrawsAtOnceWithoutWaitingForTrafficAndRestoresAfterTheRestart() {
        RestartCycle cycle = cycle(Duration.ofMinutes(1));
        cycle.podChanged(pod(running("app", 0, false), running("lameduck", 0, true)));
        cycle.podChanged(pod(running("app", 0, true), running("lameduck", 0, true)));
        assertThat(withdrawals).as("starting up and becoming ready is no crash").isEmpty();

        cycle.podChanged(pod(exited("app", 0, "OOMKilled (exit 137)"), running("lameduck", 0, true)));
        assertThat(withdrawals).containsExactly("container-exit without propagation");
        withdrawn(Trigger.CONTAINER_EXIT);
        assertThat(cycle.status().phase()).isEqualTo("awaiting-ready");
        assertThat(cycle.status().detail()).contains("OOMKilled (exit 137)");

        cycle.podChanged(pod(new ContainerState("app", 0, false, false, Optional.of("OOMKilled (exit 137)")), running("lameduck", 0, true)));
        cycle.podChanged(pod(running("app", 1, false), running("lameduck", 0, true)));
        assertThat(restores).as("running again but not ready yet").hasValue(0);
        cycle.podChanged(pod(running("app", 1, true), running("lameduck", 0, true)));
        assertThat(restores).hasValue(1);
        assertThat(ended).singleElement().satisfies(end -> assertThat(end.trigger()).isEqualTo(Trigger.CONTAINER_EXIT));
    }

    @Test
    void aRestartSeenOnlyAsAHigherRestartCountIsACrashToo() {
        RestartCycle cycle = cycle(Duration.ofMinutes(1));
        cycle.podChanged(pod(running("app", 2, true)));
        cycle.podChanged(pod(running("app", 3, true)));
        assertThat(withdrawals).containsExactly("container-exit without propagation");
        withdrawn(Trigger.CONTAINER_EXIT);
        assertThat(restores).as("already back and ready when the withdrawal ended").hasValue(1);
        assertThat(ended).singleElement().satisfies(end -> assertThat(end.phase()).isEqualTo("restored"));
    }

    @Test
    void aPrestopThatNoKillFollowsPutsThePodBackAfterTheDeadlineAndTheKillGrace() {
        RestartCycle cycle = cycle(Duration.ofMillis(200));
        cycle.prestop(Optional.of(pod(running("app", 0, true))), RestartCycleTest::noDrain);
        withdrawn(Trigger.CONTAINER_RESTART);
        assertThat(restores).hasValue(0);

        // The scheduler's thread restores, then tells the listeners (outside the cycle's lock): await both, not the first.
        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(restores).hasValue(1);
            assertThat(ended).singleElement().satisfies(end -> {
                assertThat(end.phase()).isEqualTo("restored-without-restart");
                assertThat(end.detail()).contains("no container stopped or restarted");
            });
        });
    }

    private static CompletableFuture<DrainReport> noDrain() {
        throw new AssertionError("no drain began: the /prestop must begin or join a restart cycle");
    }

    @Test
    void aPrestopAfterADrainBeganJoinsTheDrain() {
        RestartCycle cycle = cycle(Duration.ofMinutes(1));
        cycle.supersedeByDrain();
        CompletableFuture<DrainReport> drain = new CompletableFuture<>();
        assertThat(cycle.prestop(Optional.of(pod(running("app", 0, true))), () -> drain)).isSameAs(drain);
        assertThat(withdrawals).isEmpty();
    }

    @Test
    void aDrainSupersedesTheCycleAndThePodStaysWithdrawn() {
        RestartCycle cycle = cycle(Duration.ofMinutes(1));
        cycle.prestop(Optional.of(pod(running("app", 0, true))), RestartCycleTest::noDrain);
        withdrawn(Trigger.CONTAINER_RESTART);
        cycle.supersedeByDrain();
        cycle.podChanged(pod(running("app", 1, true)));

        assertThat(restores).hasValue(0);
        assertThat(cycle.holdsWithdrawal()).isFalse();
        assertThat(ended).singleElement().satisfies(end -> assertThat(end.phase()).isEqualTo("superseded"));
        assertThat(withdrawals).as("a restart seen after the drain began is not a new cycle").hasSize(1);
    }

    @Test
    void maintenanceKeepsThePodWithdrawnWhenTheContainerIsBack() {
        RestartCycle cycle = cycle(Duration.ofMinutes(1));
        maintenanceOn.set(true);
        cycle.prestop(Optional.of(pod(running("app", 0, true))), RestartCycleTest::noDrain);
        withdrawn(Trigger.CONTAINER_RESTART);
        cycle.podChanged(pod(running("app", 1, true)));

        assertThat(restores).hasValue(0);
        assertThat(ended).singleElement().satisfies(end -> assertThat(end.detail()).contains("maintenance is on"));
    }

    @Test
    void aPodBeingDeletedOrDisruptedStartsNoCycle() {
        RestartCycle cycle = cycle(NO_WAIT);
        cycle.podChanged(pod(running("app", 0, true)));
        cycle.podChanged(new PodFacts(true, Optional.empty(), List.of(exited("app", 0, "Error (exit 143)"))));
        cycle.podChanged(new PodFacts(false, Optional.of("TerminationByKubelet: The node was low on resource: memory"),
                List.of(exited("app", 0, "Error (exit 143)"))));
        assertThat(withdrawals).isEmpty();
        assertThat(cycle.status()).isEqualTo(RestartStatus.NONE);
    }

    @Test
    void wentDownComparesRestartCountsAndRunningStatesByName() {
        var before = java.util.Map.of("app", running("app", 1, true), "side", running("side", 0, true),
                "init", exited("init", 0, "Completed (exit 0)"));
        var now = java.util.Map.of("app", running("app", 1, false), "side", exited("side", 0, "Error (exit 2)"),
                "init", exited("init", 0, "Completed (exit 0)"), "new", exited("new", 0, "Error (exit 1)"));
        assertThat(RestartCycle.wentDown(before, now)).containsExactly("side");
    }
}
