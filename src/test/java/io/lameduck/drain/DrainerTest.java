package io.lameduck.drain;

import static io.lameduck.drain.TestHooks.crash;
import static io.lameduck.drain.TestHooks.fail;
import static io.lameduck.drain.TestHooks.hang;
import static io.lameduck.drain.TestHooks.succeed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.tuple;

import io.lameduck.drain.TestHooks.Scripted;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.time.Ticker;
import io.lameduck.time.TimeSource;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DrainerTest {
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final Lifecycle lifecycle = new Lifecycle();
    private final List<String> journal = TestHooks.journal();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    private DrainReport drain(Duration budget, Duration margin, Duration propagation, Withdrawal withdrawal, List<Hook> hooks)
            throws Exception {
        lifecycle.moveTo(State.READY, "test");
        Drainer drainer = new Drainer(lifecycle, withdrawal, hooks, Duration.ofSeconds(1), Propagation.fixed(propagation), executor, Ticker.SYSTEM);
        DrainCoordinator coordinator = new DrainCoordinator(drainer, BudgetSource.fixed(budget), budget, margin, Ticker.SYSTEM, Clock.systemUTC());
        return coordinator.trigger(Trigger.CLI).get(30, TimeUnit.SECONDS);
    }

    private Scripted hook(String name, int priority, Duration timeout, TestHooks.Behaviour behaviour) {
        return new Scripted(name, priority, timeout, false, behaviour, journal);
    }

    @Test
    void runsLowerPrioritiesFirstAndEqualPrioritiesTogether() throws Exception {
        CyclicBarrier together = new CyclicBarrier(2); // only passes if both hooks of priority 10 run at once
        TestHooks.Behaviour meet = () -> {
            try {
                together.await(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new HookFailedException("did not run concurrently: " + e);
            }
        };
        DrainReport report = drain(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                hook("last", 30, Duration.ofSeconds(5), succeed()),
                hook("a", 10, Duration.ofSeconds(5), meet),
                hook("b", 10, Duration.ofSeconds(5), meet),
                hook("middle", 20, Duration.ofSeconds(5), succeed())));

        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome).containsExactly(
                tuple("a", Outcome.COMPLETED), tuple("b", Outcome.COMPLETED),
                tuple("middle", Outcome.COMPLETED), tuple("last", Outcome.COMPLETED));
        assertThat(journal.subList(4, 8)).containsExactly("start middle", "end middle", "start last", "end last");
        assertThat(report.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(
                tuple(StepName.UNREADY, Outcome.COMPLETED), tuple(StepName.WITHDRAW, Outcome.COMPLETED),
                tuple(StepName.PROPAGATE, Outcome.COMPLETED), tuple(StepName.HOOKS, Outcome.COMPLETED));
        assertThat(lifecycle.snapshot().history()).extracting(t -> t.to())
                .containsExactly(State.READY, State.DRAINING, State.DRAINED);
    }

    @Test
    void aHangingHookIsCancelledAtItsTimeoutAndTheDrainGoesOn() throws Exception {
        CountDownLatch interrupted = new CountDownLatch(1);
        long start = System.nanoTime();
        DrainReport report = drain(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                hook("stuck", 10, Duration.ofMillis(300), hang(interrupted)),
                hook("after", 20, Duration.ofSeconds(5), succeed())));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(interrupted.await(0, TimeUnit.SECONDS)).as("the hung hook was interrupted").isTrue();
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        HookReport stuck = report.hooks().get(0);
        assertThat(stuck.outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(stuck.error()).isEqualTo("timed out after 0.300s and was cancelled");
        assertThat(stuck.durationSeconds()).isBetween(0.3, 2.0);
        assertThat(report.hooks().get(1).outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(journal).contains("end stuck", "start after");
        assertThat(took).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void theDrainEndsAtItsDeadlineEvenWhenHookTimeoutsAddUpPastIt() throws Exception {
        CountDownLatch interrupted = new CountDownLatch(2);
        long start = System.nanoTime();
        DrainReport report = drain(Duration.ofMillis(1500), Duration.ofMillis(500), Duration.ofMillis(100), new ProbeWithdrawal(), List.of(
                hook("first", 10, Duration.ofMillis(600), hang(interrupted)),
                hook("second", 20, Duration.ofSeconds(10), hang(interrupted)),
                hook("third", 30, Duration.ofSeconds(10), succeed())));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome).containsExactly(
                tuple("first", Outcome.TIMED_OUT), tuple("second", Outcome.TIMED_OUT), tuple("third", Outcome.SKIPPED));
        assertThat(report.hooks().get(1).error()).startsWith("cancelled at the drain deadline after 0.");
        assertThat(report.hooks().get(2).error()).contains("drain deadline was reached");
        assertThat(interrupted.await(0, TimeUnit.SECONDS)).isTrue();
        assertThat(journal).doesNotContain("start third");
        // 1s usable (1.5s budget - 0.5s margin); allow scheduling noise but far less than the 20s of timeouts.
        assertThat(took).isLessThan(Duration.ofMillis(2500));
        assertThat(report.durationSeconds()).isLessThan(2.5);
        assertThat(report.steps().get(3).outcome()).isEqualTo(Outcome.TIMED_OUT);
    }

    @Test
    void aFailingHookIsReportedButDoesNotStopTheDrain() throws Exception {
        DrainReport report = drain(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                hook("broken", 10, Duration.ofSeconds(5), fail("app answered 500")),
                hook("buggy", 10, Duration.ofSeconds(5), crash()),
                hook("next", 20, Duration.ofSeconds(5), succeed())));

        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::error).containsExactly(
                tuple("broken", Outcome.FAILED, "app answered 500"),
                tuple("buggy", Outcome.FAILED, "unexpected error: java.lang.IllegalStateException: hook bug"),
                tuple("next", Outcome.COMPLETED, null));
    }

    @Test
    void aFailingAbortHookSkipsTheRestAndFailsTheDrain() throws Exception {
        Hook aborting = new Scripted("must-pass", 10, Duration.ofSeconds(5), true, fail("flush failed"), journal);
        DrainReport report = drain(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                aborting, hook("later", 20, Duration.ofSeconds(5), succeed())));

        assertThat(report.outcome()).isEqualTo(DrainOutcome.FAILED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::error).containsExactly(
                tuple("must-pass", Outcome.FAILED, "flush failed"),
                tuple("later", Outcome.SKIPPED, "skipped: hook must-pass failed and has onFailure: abort"));
        assertThat(report.steps().get(3)).extracting(StepReport::outcome, StepReport::error)
                .containsExactly(Outcome.FAILED, "a hook with onFailure: abort failed");
        assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
    }

    /** A withdrawal that confirms only once {@code released} opens (a stand-in for an EndpointSlice that takes a while). */
    private static Withdrawal confirmedOnceReleased(CountDownLatch released) {
        return new Withdrawal() {
            @Override
            public String strategy() {
                return "label";
            }

            @Override
            public Result restore() {
                return new Result(Status.CONFIRMED, "restored");
            }

            @Override
            public Result withdraw(Duration timeout) throws InterruptedException {
                return released.await(timeout.toMillis(), TimeUnit.MILLISECONDS)
                        ? new Result(Status.CONFIRMED, "confirmed")
                        : new Result(Status.TIMED_OUT, "not released within " + timeout);
            }
        };
    }

    @Test
    void hooksAtTheTriggerRunWhileTheWithdrawalWaitsAndTheOthersOnceTrafficHasStopped() throws Exception {
        CountDownLatch told = new CountDownLatch(1);
        DrainReport report = drain(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMillis(100), confirmedOnceReleased(told),
                List.of(hook("after", 10, Duration.ofSeconds(5), succeed()),
                        new TestHooks.AtTrigger(hook("leave-early", 50, Duration.ofSeconds(5), told::countDown))));

        // The withdrawal (1 s timeout) confirms only if the hook at the trigger ran while it waited.
        assertThat(report.steps().get(1)).extracting(StepReport::name, StepReport::outcome)
                .containsExactly(StepName.WITHDRAW, Outcome.COMPLETED);
        assertThat(journal).containsExactly("start leave-early", "end leave-early", "start after", "end after");
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::at, HookReport::outcome).containsExactly(
                tuple("leave-early", "trigger", Outcome.COMPLETED), tuple("after", "quiet", Outcome.COMPLETED));
        assertThat(report.steps().get(3).detail()).isEqualTo("2 hooks (1 at the trigger)");
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
    }

    @Test
    void aHookAtTheTriggerThatFailsWithAbortSkipsTheHooksAfterTheTraffic() throws Exception {
        DrainReport report = drain(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                new TestHooks.AtTrigger(new Scripted("must-leave", 0, Duration.ofSeconds(5), true, fail("app refused"), journal)),
                hook("after", 10, Duration.ofSeconds(5), succeed())));

        assertThat(report.outcome()).isEqualTo(DrainOutcome.FAILED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::error).containsExactly(
                tuple("must-leave", Outcome.FAILED, "app refused"),
                tuple("after", Outcome.SKIPPED, "skipped: a hook at the trigger failed and has onFailure: abort"));
        assertThat(journal).doesNotContain("start after");
        assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
    }

    @Test
    void aHangingHookAtTheTriggerIsCancelledAtTheDeadlineAndReportedOnce() throws Exception {
        CountDownLatch interrupted = new CountDownLatch(1);
        DrainReport report = drain(Duration.ofMillis(1500), Duration.ofMillis(500), Duration.ofMillis(100), new ProbeWithdrawal(),
                List.of(new TestHooks.AtTrigger(hook("stuck", 0, Duration.ofSeconds(30), hang(interrupted)))));

        assertThat(interrupted.await(0, TimeUnit.SECONDS)).as("the hung hook was interrupted").isTrue();
        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::at, HookReport::outcome)
                .containsExactly(tuple("stuck", "trigger", Outcome.TIMED_OUT));
        assertThat(report.hooks().get(0).error()).startsWith("cancelled at the drain deadline after ");
    }

    @Test
    void aDegradedWithdrawalIsReportedAndThePropagationDelayStillRunsInFull() throws Exception {
        Withdrawal apiDown = new Withdrawal() { // stands in for a Kubernetes API that cannot be reached
            @Override
            public String strategy() {
                return "label";
            }

            @Override
            public Result restore() {
                return new Result(Status.DEGRADED, "api down");
            }

            @Override
            public Result withdraw(Duration timeout) {
                return new Result(Status.DEGRADED, "label: API unreachable; fell back to probe");
            }
        };
        DrainReport report = drain(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMillis(300), apiDown, List.of());

        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.steps().get(1)).extracting(StepReport::name, StepReport::outcome, StepReport::detail, StepReport::error)
                .containsExactly(StepName.WITHDRAW, Outcome.FAILED, "label: API unreachable; fell back to probe",
                        "withdrawal degraded to the probe strategy");
        assertThat(report.steps().get(2).durationSeconds()).isGreaterThanOrEqualTo(0.3);
    }

    @Test
    void aDeadlineSpentBeforeTheDrainStartsSkipsEveryTimedStepButStillWithdraws() throws Exception {
        DrainReport report = drain(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(5), new ProbeWithdrawal(),
                List.of(hook("h", 10, Duration.ofSeconds(1), succeed())));

        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(
                tuple(StepName.UNREADY, Outcome.COMPLETED), tuple(StepName.WITHDRAW, Outcome.COMPLETED),
                tuple(StepName.PROPAGATE, Outcome.SKIPPED), tuple(StepName.HOOKS, Outcome.TIMED_OUT));
        assertThat(report.hooks()).extracting(HookReport::outcome).containsExactly(Outcome.SKIPPED);
        assertThat(report.durationSeconds()).isLessThan(1.0);
    }

    @Test
    void aQuietPropagationWithoutTrafficEndsAtItsMinimumAndTheReportSaysSo() throws Exception {
        AppConnections idleApp = ScriptedConnections.onPort8080();
        lifecycle.moveTo(State.READY, "test");
        Propagation quiet = Propagation.quiet(new Propagation.Rules(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofSeconds(10),
                Duration.ofSeconds(5)), idleApp, Duration.ofMillis(50), TimeSource.SYSTEM);
        Drainer drainer = new Drainer(lifecycle, new ProbeWithdrawal(), List.of(), Duration.ofSeconds(1), quiet, executor, Ticker.SYSTEM);
        DrainReport report = new DrainCoordinator(drainer, BudgetSource.fixed(Duration.ofSeconds(20)), Duration.ofSeconds(20), Duration.ofSeconds(1),
                Ticker.SYSTEM, Clock.systemUTC()).trigger(Trigger.PRESTOP).get(30, TimeUnit.SECONDS);

        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(
                tuple(StepName.UNREADY, Outcome.COMPLETED), tuple(StepName.WITHDRAW, Outcome.COMPLETED),
                tuple(StepName.PROPAGATE, Outcome.COMPLETED), tuple(StepName.HOOKS, Outcome.COMPLETED));
        assertThat(report.steps().get(2).detail()).startsWith("traffic stopped: silent for 200ms (low traffic: 0 arrivals")
                .endsWith("; 0 new connection(s) and 0 request(s) on open connections since the drain started");
        assertThat(report.steps().get(2).durationSeconds()).isBetween(0.3, 5.0);
        assertThat(report.traffic()).extracting(TrafficReport::ports, TrafficReport::newConnections, TrafficReport::lastRequestSeconds,
                TrafficReport::stopped).containsExactly(List.of(8080), 0, null, true);
        assertThat(report.traffic().withdrawnSeconds()).isNotNull();
        assertThat(lifecycle.snapshot().history()).extracting(t -> t.to())
                .containsExactly(State.READY, State.DRAINING, State.DRAINED);
    }

    @Test
    void aListenerThrowingAnErrorDoesNotStopTheDrainOrLeaveItsFutureIncomplete() throws Exception {
        lifecycle.moveTo(State.READY, "test");
        Drainer drainer = new Drainer(lifecycle, new ProbeWithdrawal(), List.of(), Duration.ofSeconds(1), Propagation.fixed(Duration.ofMillis(50)),
                executor, Ticker.SYSTEM);
        DrainCoordinator coordinator = new DrainCoordinator(drainer, BudgetSource.fixed(Duration.ofSeconds(10)),
                Duration.ofSeconds(10), Duration.ofSeconds(1), Ticker.SYSTEM, Clock.systemUTC());
        coordinator.addListener(new DrainListener() {
            @Override
            public void drainStarted(String drainId, Trigger trigger, java.time.Instant deadline) {
                throw new AssertionError("a listener broken beyond a RuntimeException");
            }

            @Override
            public void drainFinished(DrainReport report) {
                throw new StackOverflowError();
            }
        });

        DrainReport report = coordinator.trigger(Trigger.CLI).get(10, TimeUnit.SECONDS);

        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(lifecycle.snapshot().history()).extracting(t -> t.to()).containsExactly(State.READY, State.DRAINING, State.DRAINED);
    }

    @Test
    void laterTriggersJoinTheFirstDrain() throws Exception {
        lifecycle.moveTo(State.READY, "test");
        Drainer drainer = new Drainer(lifecycle, new ProbeWithdrawal(), List.of(), Duration.ofSeconds(1), Propagation.fixed(Duration.ofMillis(200)),
                executor, Ticker.SYSTEM);
        DrainCoordinator coordinator = new DrainCoordinator(drainer, BudgetSource.fixed(Duration.ofSeconds(10)),
                Duration.ofSeconds(10), Duration.ofSeconds(1), Ticker.SYSTEM, Clock.systemUTC());
        var first = coordinator.trigger(Trigger.PRESTOP);
        var second = coordinator.trigger(Trigger.SIGNAL);
        await().atMost(Duration.ofSeconds(5)).until(() -> coordinator.report().isPresent()); // once the deadline is fixed
        assertThat(coordinator.report()).get().extracting(DrainReport::outcome).isIn(DrainOutcome.RUNNING, DrainOutcome.COMPLETED);
        DrainReport report = first.get(10, TimeUnit.SECONDS);
        assertThat(second.get(10, TimeUnit.SECONDS)).isSameAs(report);
        assertThat(report.trigger()).isEqualTo(Trigger.PRESTOP);
        assertThat(coordinator.trigger(Trigger.CLI).get()).isSameAs(report);
    }
}
