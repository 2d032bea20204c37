package io.lameduck.drain;

import static io.lameduck.drain.TestHooks.crash;
import static io.lameduck.drain.TestHooks.fail;
import static io.lameduck.drain.TestHooks.hang;
import static io.lameduck.drain.TestHooks.succeed;
import static io.lameduck.drain.TestHooks.takes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.drain.TestHooks.Scripted;
import io.lameduck.http.Json;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.sockets.AppConnections;
import io.lameduck.testsupport.SimulatedExecutor;
import io.lameduck.testsupport.SimulatedTime;
import io.lameduck.time.TimeSource;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The drain algorithm on {@link SimulatedTime}: the hooks are in-process fakes that work and hang on the clock, so each
 * test says exactly when a hook timed out and when the drain ended (not a nanosecond before, at that moment), and runs
 * in no time. One smoke test runs a drain on the system clock with a real thread pool, as the agent does.
 */
class DrainerTest {
    private final SimulatedTime time = new SimulatedTime();
    private final ExecutorService executor = new SimulatedExecutor(time, "hook");
    private final Lifecycle lifecycle = new Lifecycle();
    private final List<String> journal = TestHooks.journal();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
        time.close();
    }

    private DrainCoordinator coordinator(Duration budget, Duration margin, Propagation propagation, Withdrawal withdrawal, List<Hook> hooks) {
        lifecycle.moveTo(State.READY, "test");
        Drainer drainer = new Drainer(lifecycle, withdrawal, hooks, Duration.ofSeconds(1), propagation, executor, time);
        return new DrainCoordinator(drainer, BudgetSource.fixed(budget), budget, margin, time);
    }

    /** Starts a drain on simulated time; returns once it waits on the clock (or has ended). */
    private CompletableFuture<DrainReport> trigger(Duration budget, Duration margin, Duration propagation, Withdrawal withdrawal,
            List<Hook> hooks) {
        return coordinator(budget, margin, Propagation.fixed(propagation, time), withdrawal, hooks).trigger(Trigger.CLI);
    }

    /** Moves the time to {@code at} (from the trigger) and asserts that the drain ends exactly then: its report says so too. */
    private DrainReport endsAt(CompletableFuture<DrainReport> drain, Duration at) {
        if (!at.isZero()) {
            time.advance(at.minus(time.elapsed()).minusNanos(1));
            assertThat(drain).as("still draining a nanosecond before %s", at).isNotDone();
            time.advance(Duration.ofNanos(1));
        }
        assertThat(drain).as("ended at %s", at).isDone();
        DrainReport report = drain.join();
        assertThat(report.durationSeconds()).isEqualTo(seconds(at));
        return report;
    }

    /** As the reports count: seconds, from nanoseconds. */
    private static double seconds(Duration duration) {
        return duration.toNanos() / 1e9;
    }

    private Scripted hook(String name, int priority, Duration timeout, TestHooks.Behaviour behaviour) {
        return new Scripted(name, priority, timeout, false, behaviour, journal);
    }

    @Test
    void runsLowerPrioritiesFirstAndEqualPrioritiesTogether() {
        // a and b share priority 10 and take 2 s each: together they end at 2 s, one after the other b would end at 4 s.
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                hook("last", 30, Duration.ofSeconds(5), takes(time, Duration.ofSeconds(1))),
                hook("a", 10, Duration.ofSeconds(5), takes(time, Duration.ofSeconds(2))),
                hook("b", 10, Duration.ofSeconds(5), takes(time, Duration.ofSeconds(2))),
                hook("middle", 20, Duration.ofSeconds(5), takes(time, Duration.ofSeconds(1)))));

        DrainReport report = endsAt(drain, Duration.ofSeconds(4));
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::durationSeconds).containsExactly(
                tuple("a", Outcome.COMPLETED, 2.0), tuple("b", Outcome.COMPLETED, 2.0),
                tuple("middle", Outcome.COMPLETED, 1.0), tuple("last", Outcome.COMPLETED, 1.0));
        assertThat(journal.subList(0, 2)).containsExactlyInAnyOrder("start a", "start b");
        assertThat(journal.subList(2, 8)).containsExactly("end a", "end b", "start middle", "end middle", "start last", "end last");
        assertThat(report.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(
                tuple(StepName.UNREADY, Outcome.COMPLETED), tuple(StepName.WITHDRAW, Outcome.COMPLETED),
                tuple(StepName.PROPAGATE, Outcome.COMPLETED), tuple(StepName.HOOKS, Outcome.COMPLETED));
        assertThat(lifecycle.snapshot().history()).extracting(t -> t.to())
                .containsExactly(State.READY, State.DRAINING, State.DRAINED);
    }

    @Test
    void aHangingHookIsCancelledAtItsTimeoutAndTheDrainGoesOn() {
        CountDownLatch interrupted = new CountDownLatch(1);
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                hook("stuck", 10, Duration.ofMillis(300), hang(time, interrupted)),
                hook("after", 20, Duration.ofSeconds(5), succeed())));

        DrainReport report = endsAt(drain, Duration.ofMillis(300));
        assertThat(interrupted.getCount()).as("the hung hook was interrupted").isZero();
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::durationSeconds, HookReport::error)
                .containsExactly(tuple("stuck", Outcome.TIMED_OUT, 0.3, "timed out after 0.300s and was cancelled"),
                        tuple("after", Outcome.COMPLETED, 0.0, null));
        assertThat(journal).contains("end stuck", "start after");
    }

    /** Smoke test on the system clock and a real thread pool, as the agent runs hooks: the same timeout, in real time. */
    @Test
    void realTimeSmokeAHangingHookIsCancelledAtItsTimeoutAndTheDrainGoesOn() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try {
            CountDownLatch interrupted = new CountDownLatch(1);
            lifecycle.moveTo(State.READY, "test");
            Drainer drainer = new Drainer(lifecycle, new ProbeWithdrawal(), List.of(
                    hook("stuck", 10, Duration.ofMillis(300), hang(TimeSource.SYSTEM, interrupted)),
                    hook("after", 20, Duration.ofSeconds(5), succeed())),
                    Duration.ofSeconds(1), Propagation.fixed(Duration.ZERO), pool, TimeSource.SYSTEM);
            DrainCoordinator coordinator = new DrainCoordinator(drainer, BudgetSource.fixed(Duration.ofSeconds(20)), Duration.ofSeconds(20),
                    Duration.ofSeconds(1), TimeSource.SYSTEM);
            long start = System.nanoTime();
            DrainReport report = coordinator.trigger(Trigger.CLI).get(30, TimeUnit.SECONDS);
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(interrupted.await(0, TimeUnit.SECONDS)).as("the hung hook was interrupted").isTrue();
            assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
            HookReport stuck = report.hooks().get(0);
            assertThat(stuck.outcome()).isEqualTo(Outcome.TIMED_OUT);
            assertThat(stuck.error()).isEqualTo("timed out after 0.300s and was cancelled");
            // Generous bounds: the exact moment is the simulated tests' job; this one proves the real clock is wired.
            assertThat(stuck.durationSeconds()).isBetween(0.3, 2.0);
            assertThat(report.hooks().get(1).outcome()).isEqualTo(Outcome.COMPLETED);
            assertThat(journal).contains("end stuck", "start after");
            assertThat(took).isLessThan(Duration.ofSeconds(5));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theDrainEndsAtItsDeadlineEvenWhenHookTimeoutsAddUpPastIt() {
        // 1 s usable (1.5 s budget - 0.5 s margin): 0.1 s propagation, "first" times out at 0.7 s, "second" gets the
        // 0.3 s left of its 10 s and is cancelled at the deadline; "third" never starts.
        CountDownLatch interrupted = new CountDownLatch(2);
        CompletableFuture<DrainReport> drain = trigger(Duration.ofMillis(1500), Duration.ofMillis(500), Duration.ofMillis(100), new ProbeWithdrawal(), List.of(
                hook("first", 10, Duration.ofMillis(600), hang(time, interrupted)),
                hook("second", 20, Duration.ofSeconds(10), hang(time, interrupted)),
                hook("third", 30, Duration.ofSeconds(10), succeed())));

        DrainReport report = endsAt(drain, Duration.ofSeconds(1));
        assertThat(report.finishedAt()).as("ended at the deadline").isEqualTo(report.deadline());
        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::durationSeconds, HookReport::error).containsExactly(
                tuple("first", Outcome.TIMED_OUT, 0.6, "timed out after 0.600s and was cancelled"),
                tuple("second", Outcome.TIMED_OUT, 0.3, "cancelled at the drain deadline after 0.300s (its timeout 10.000s did not fit)"),
                tuple("third", Outcome.SKIPPED, 0.0, "skipped: the drain deadline was reached before this hook's turn"));
        assertThat(interrupted.getCount()).isZero();
        assertThat(journal).doesNotContain("start third");
        assertThat(report.steps().get(3).outcome()).isEqualTo(Outcome.TIMED_OUT);
    }

    /**
     * A kubelet eviction reaches the agent as a plain SIGTERM or preStop: the cause the budget read found is what the
     * report, its JSON (the log line's drainReport, the drain Event's annotation) and its summary (the log message, the
     * drain Event's message) name; the detail is bounded. A drain without a cause has no such field.
     */
    @Test
    void theCauseTheBudgetReadFoundIsNamedByTheReportItsJsonAndItsSummary() throws Exception {
        lifecycle.moveTo(State.READY, "test");
        Drainer drainer = new Drainer(lifecycle, new ProbeWithdrawal(), List.of(), Duration.ofSeconds(1), Propagation.fixed(Duration.ZERO, time),
                executor, time);
        Cause eviction = new Cause(Cause.Kind.KUBELET_EVICTION, "Evicted: Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\". "
                + "x".repeat(500));
        DrainCoordinator evicted = new DrainCoordinator(drainer, () -> new BudgetSource.Budget(Duration.ofSeconds(2), "kubelet eviction",
                Optional.of(Duration.ofMillis(500)), Optional.of(eviction)), Duration.ofSeconds(30), Duration.ofSeconds(5), time);

        DrainReport report = endsAt(evicted.trigger(Trigger.SIGNAL), Duration.ZERO);
        assertThat(report.trigger()).as("how the agent heard of it").isEqualTo(Trigger.SIGNAL);
        assertThat(report.cause()).as("who decided it").isEqualTo(eviction);
        assertThat(report.cause().detail()).startsWith("Evicted: Usage of EmptyDir volume").hasSize(Cause.MAX_DETAIL + "...".length());
        assertThat(report.deadline()).isEqualTo(report.startedAt().plusMillis(1500));
        JsonNode json = Json.MAPPER.readTree(Json.write(report));
        assertThat(json.path("cause").path("kind").asText()).isEqualTo("kubelet-eviction");
        assertThat(json.path("cause").path("detail").asText()).isEqualTo(eviction.detail());
        assertThat(report.summary()).startsWith("drain " + report.id() + " (signal; cause kubelet-eviction: Evicted: Usage of EmptyDir volume")
                .endsWith("...) completed in 0.00s: 4 steps, 0 hooks (0 not completed)");

        DrainReport rollout = new DrainReport("drain-2", Trigger.PRESTOP, report.outcome(), report.startedAt(), report.finishedAt(),
                report.deadline(), "pod deletionTimestamp", 0, List.of(), List.of());
        assertThat(Json.MAPPER.readTree(Json.write(rollout)).has("cause")).isFalse();
        assertThat(rollout.summary()).startsWith("drain drain-2 (prestop) completed");
    }

    /**
     * A container that already exited (trigger container-exit) is withdrawn without asking the budget source: no kubelet
     * waits on it, and the source's API reads only delayed the withdrawal. A container the kubelet is about to restart
     * (container-restart, a preStop waiting) still gets the pod's deadline.
     */
    @Test
    void anExitedContainersWithdrawalDoesNotWaitForTheBudgetReadButARestartsDoes() {
        lifecycle.moveTo(State.READY, "test");
        Drainer drainer = new Drainer(lifecycle, new ProbeWithdrawal(), List.of(), Duration.ofSeconds(1), Propagation.fixed(Duration.ZERO, time),
                executor, time);
        AtomicInteger reads = new AtomicInteger();
        DrainCoordinator drains = new DrainCoordinator(drainer, () -> {
            reads.incrementAndGet();
            return new BudgetSource.Budget(Duration.ofSeconds(45), "pod terminationGracePeriodSeconds");
        }, Duration.ofSeconds(30), Duration.ofSeconds(5), time);

        DrainReport exited = endsAt(drains.withdrawForRestart(Trigger.CONTAINER_EXIT, false), Duration.ZERO);
        assertThat(reads).as("no budget read for an exited container").hasValue(0);
        assertThat(exited.deadlineSource()).isEqualTo("drain.budget (a container exited: no kubelet deadline to read) 30.000s minus safety margin 5.000s");
        assertThat(exited.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(tuple(StepName.WITHDRAW, Outcome.COMPLETED));

        DrainReport restarting = endsAt(drains.withdrawForRestart(Trigger.CONTAINER_RESTART, true), Duration.ZERO);
        assertThat(reads).hasValue(1);
        assertThat(restarting.deadlineSource()).startsWith("pod terminationGracePeriodSeconds 45.000s");
        assertThat(lifecycle.state()).as("a restart cycle never drains the process").isEqualTo(State.READY);
    }

    @Test
    void aFailingHookIsReportedButDoesNotStopTheDrain() {
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                hook("broken", 10, Duration.ofSeconds(5), fail("app answered 500")),
                hook("buggy", 10, Duration.ofSeconds(5), crash()),
                hook("next", 20, Duration.ofSeconds(5), succeed())));

        DrainReport report = endsAt(drain, Duration.ZERO);
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::error).containsExactly(
                tuple("broken", Outcome.FAILED, "app answered 500"),
                tuple("buggy", Outcome.FAILED, "unexpected error: java.lang.IllegalStateException: hook bug"),
                tuple("next", Outcome.COMPLETED, null));
    }

    @Test
    void aFailingAbortHookSkipsTheRestAndFailsTheDrain() {
        Hook aborting = new Scripted("must-pass", 10, Duration.ofSeconds(5), true, fail("flush failed"), journal);
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                aborting, hook("later", 20, Duration.ofSeconds(5), succeed())));

        DrainReport report = endsAt(drain, Duration.ZERO);
        assertThat(report.outcome()).isEqualTo(DrainOutcome.FAILED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::error).containsExactly(
                tuple("must-pass", Outcome.FAILED, "flush failed"),
                tuple("later", Outcome.SKIPPED, "skipped: hook must-pass failed and has onFailure: abort"));
        assertThat(report.steps().get(3)).extracting(StepReport::outcome, StepReport::error)
                .containsExactly(Outcome.FAILED, "a hook with onFailure: abort failed");
        assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
    }

    /** A withdrawal that confirms only once {@code told} completes (a stand-in for an EndpointSlice that takes a while). */
    private Withdrawal confirmedOnceTold(CompletableFuture<Void> told) {
        return labelWithdrawal(timeout -> time.await(told, timeout)
                ? new Withdrawal.Result(Withdrawal.Status.CONFIRMED, "confirmed")
                : new Withdrawal.Result(Withdrawal.Status.TIMED_OUT, "not told within " + timeout));
    }

    /** What a stand-in withdrawal does when the drain withdraws the pod. */
    @FunctionalInterface
    private interface WithdrawStep {
        Withdrawal.Result withdraw(Duration timeout) throws InterruptedException;
    }

    /** A stand-in for the {@code label} strategy whose withdrawal does {@code step} (the drain never restores). */
    private static Withdrawal labelWithdrawal(WithdrawStep step) {
        return new Withdrawal() {
            @Override
            public String strategy() {
                return "label";
            }

            @Override
            public Result restore() {
                return new Result(Status.UNVERIFIED, "restored");
            }

            @Override
            public Result withdraw(Duration timeout) throws InterruptedException {
                return step.withdraw(timeout);
            }
        };
    }

    @Test
    void hooksAtTheTriggerRunWhileTheWithdrawalWaitsAndTheOthersOnceTrafficHasStopped() {
        CompletableFuture<Void> told = new CompletableFuture<>();
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMillis(100), confirmedOnceTold(told),
                List.of(hook("after", 10, Duration.ofSeconds(5), succeed()),
                        new TestHooks.AtTrigger(hook("leave-early", 50, Duration.ofSeconds(5), () -> told.complete(null)))));

        DrainReport report = endsAt(drain, Duration.ofMillis(100));
        // The withdrawal (1 s timeout) confirms only if the hook at the trigger ran while it waited: at once, here.
        assertThat(report.steps().get(1)).extracting(StepReport::name, StepReport::outcome, StepReport::durationSeconds)
                .containsExactly(StepName.WITHDRAW, Outcome.COMPLETED, 0.0);
        assertThat(journal).containsExactly("start leave-early", "end leave-early", "start after", "end after");
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::at, HookReport::outcome).containsExactly(
                tuple("leave-early", "trigger", Outcome.COMPLETED), tuple("after", "quiet", Outcome.COMPLETED));
        assertThat(report.steps().get(3).detail()).isEqualTo("2 hooks (1 at the trigger)");
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
    }

    @Test
    void aHookAtTheTriggerThatFailsWithAbortSkipsTheHooksAfterTheTraffic() {
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ZERO, new ProbeWithdrawal(), List.of(
                new TestHooks.AtTrigger(new Scripted("must-leave", 0, Duration.ofSeconds(5), true, fail("app refused"), journal)),
                hook("after", 10, Duration.ofSeconds(5), succeed())));

        DrainReport report = endsAt(drain, Duration.ZERO);
        assertThat(report.outcome()).isEqualTo(DrainOutcome.FAILED);
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::outcome, HookReport::error).containsExactly(
                tuple("must-leave", Outcome.FAILED, "app refused"),
                tuple("after", Outcome.SKIPPED, "skipped: a hook at the trigger failed and has onFailure: abort"));
        assertThat(journal).doesNotContain("start after");
        assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
    }

    @Test
    void aHangingHookAtTheTriggerIsCancelledAtTheDeadlineAndReportedOnce() {
        CountDownLatch interrupted = new CountDownLatch(1);
        CompletableFuture<DrainReport> drain = trigger(Duration.ofMillis(1500), Duration.ofMillis(500), Duration.ofMillis(100), new ProbeWithdrawal(),
                List.of(new TestHooks.AtTrigger(hook("stuck", 0, Duration.ofSeconds(30), hang(time, interrupted)))));

        DrainReport report = endsAt(drain, Duration.ofSeconds(1));
        assertThat(interrupted.getCount()).as("the hung hook was interrupted").isZero();
        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.finishedAt()).as("ended at the deadline").isEqualTo(report.deadline());
        assertThat(report.hooks()).extracting(HookReport::name, HookReport::at, HookReport::outcome, HookReport::durationSeconds, HookReport::error)
                .containsExactly(tuple("stuck", "trigger", Outcome.TIMED_OUT, 1.0,
                        "cancelled at the drain deadline after 1.000s (its timeout 30.000s did not fit)"));
    }

    @Test
    void aDegradedWithdrawalIsReportedAndThePropagationDelayStillRunsInFull() {
        Withdrawal apiDown = labelWithdrawal(timeout -> // stands in for a Kubernetes API that cannot be reached
                new Withdrawal.Result(Withdrawal.Status.DEGRADED, "label: API unreachable; fell back to probe"));
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMillis(300), apiDown, List.of());

        DrainReport report = endsAt(drain, Duration.ofMillis(300));
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.steps().get(1)).extracting(StepReport::name, StepReport::outcome, StepReport::detail, StepReport::error)
                .containsExactly(StepName.WITHDRAW, Outcome.FAILED, "label: API unreachable; fell back to probe",
                        "withdrawal degraded to the probe strategy");
        assertThat(report.steps().get(2).durationSeconds()).isEqualTo(0.3);
    }

    @Test
    void aDeadlineSpentBeforeTheDrainStartsSkipsEveryTimedStepButStillWithdraws() {
        CompletableFuture<DrainReport> drain = trigger(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(5), new ProbeWithdrawal(),
                List.of(hook("h", 10, Duration.ofSeconds(1), succeed())));

        DrainReport report = endsAt(drain, Duration.ZERO);
        assertThat(report.outcome()).isEqualTo(DrainOutcome.DEADLINE_EXCEEDED);
        assertThat(report.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(
                tuple(StepName.UNREADY, Outcome.COMPLETED), tuple(StepName.WITHDRAW, Outcome.COMPLETED),
                tuple(StepName.PROPAGATE, Outcome.SKIPPED), tuple(StepName.HOOKS, Outcome.TIMED_OUT));
        assertThat(report.hooks()).extracting(HookReport::outcome).containsExactly(Outcome.SKIPPED);
    }

    @Test
    void aQuietPropagationWithoutTrafficEndsAtItsMinimumAndTheReportSaysSo() {
        AppConnections idleApp = ScriptedConnections.onPort8080();
        Propagation quiet = Propagation.quiet(new Propagation.Rules(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofSeconds(10),
                Duration.ofSeconds(5)), idleApp, Duration.ofMillis(50), time);
        CompletableFuture<DrainReport> drain = coordinator(Duration.ofSeconds(20), Duration.ofSeconds(1), quiet, new ProbeWithdrawal(), List.of())
                .trigger(Trigger.PRESTOP);

        DrainReport report = endsAt(drain, Duration.ofMillis(300));
        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(report.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(
                tuple(StepName.UNREADY, Outcome.COMPLETED), tuple(StepName.WITHDRAW, Outcome.COMPLETED),
                tuple(StepName.PROPAGATE, Outcome.COMPLETED), tuple(StepName.HOOKS, Outcome.COMPLETED));
        assertThat(report.steps().get(2).detail()).startsWith("traffic stopped: silent for 200ms (low traffic: 0 arrivals")
                .endsWith("; 0 new connection(s) and 0 request(s) on open connections since the drain started");
        assertThat(report.steps().get(2).durationSeconds()).isEqualTo(0.3);
        assertThat(report.traffic()).extracting(TrafficReport::ports, TrafficReport::newConnections, TrafficReport::lastRequestSeconds,
                TrafficReport::stopped).containsExactly(List.of(8080), 0, null, true);
        assertThat(report.traffic().withdrawnSeconds()).isNotNull();
        assertThat(lifecycle.snapshot().history()).extracting(t -> t.to())
                .containsExactly(State.READY, State.DRAINING, State.DRAINED);
    }

    /** A withdrawal confirmed at once that found {@code ingresses} routing to the pod: stands in for the Kubernetes API. */
    private static Withdrawal confirmedBehind(List<String> ingresses) {
        return labelWithdrawal(timeout -> new Withdrawal.Result(Withdrawal.Status.CONFIRMED, "label: confirmed",
                new WithdrawalReport(null, null, null, null, List.of(), ingresses)));
    }

    /** The drain of a pod whose pooled keep-alive connection never stops sending (keepAliveWait 1 s, maximum 4 s). */
    private DrainReport drainUnderEndlessKeepAliveTraffic(Withdrawal withdrawal) throws Exception {
        ScriptedConnections app = ScriptedConnections.onPort8080();
        AppConnections.Connection pooled = new AppConnections.Connection(InetAddress.getByName("10.244.0.5"), 8080,
                InetAddress.getByName("10.244.0.7"), 40000);
        app.connections.put(pooled, new AppConnections.Received(100, Duration.ZERO));
        Propagation quiet = Propagation.quiet(new Propagation.Rules(Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofSeconds(4),
                Duration.ofSeconds(1)), app, Duration.ofMillis(50), time);
        CompletableFuture<DrainReport> drain = coordinator(Duration.ofSeconds(20), Duration.ofSeconds(1), quiet, withdrawal, List.of())
                .trigger(Trigger.PRESTOP);
        for (long bytes = 200; !drain.isDone(); bytes += 100) { // a request every 50 ms, for as long as the drain runs
            assertThat(time.elapsed()).isLessThanOrEqualTo(Duration.ofSeconds(5));
            time.advance(Duration.ofMillis(50));
            app.connections.put(pooled, new AppConnections.Received(bytes, Duration.ZERO));
        }
        return drain.join();
    }

    @Test
    void behindAnIngressTheDrainCountsKeepAliveRequestsUntilTheyStopNotOnlyKeepAliveWait() throws Exception {
        DrainReport behindIngress = drainUnderEndlessKeepAliveTraffic(confirmedBehind(List.of("front -> web")));

        assertThat(behindIngress.steps().get(1).detail()).isEqualTo("label: confirmed; an Ingress routes to the pod (front -> web), "
                + "so requests on open connections count until they stop, not only keepAliveWait");
        assertThat(behindIngress.steps().get(2)).extracting(StepReport::outcome, StepReport::durationSeconds).containsExactly(Outcome.TIMED_OUT, 4.0);
        assertThat(behindIngress.traffic().stopped()).isFalse();
        assertThat(behindIngress.traffic().stillSending()).containsExactly("10.244.0.7");
    }

    @Test
    void withoutAnIngressKeepAliveRequestsCountOnlyUntilKeepAliveWait() throws Exception {
        DrainReport pinned = drainUnderEndlessKeepAliveTraffic(confirmedBehind(List.of()));

        assertThat(pinned.steps().get(1).detail()).isEqualTo("label: confirmed");
        assertThat(pinned.steps().get(2).outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(pinned.steps().get(2).durationSeconds()).isLessThan(1.5); // keepAliveWait, then no new connection came
        assertThat(pinned.traffic().stopped()).isTrue();
        assertThat(pinned.traffic().stillSending()).containsExactly("10.244.0.7");
    }

    @Test
    void aListenerThrowingAnErrorDoesNotStopTheDrainOrLeaveItsFutureIncomplete() {
        DrainCoordinator coordinator = coordinator(Duration.ofSeconds(10), Duration.ofSeconds(1), Propagation.fixed(Duration.ofMillis(50), time),
                new ProbeWithdrawal(), List.of());
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

        DrainReport report = endsAt(coordinator.trigger(Trigger.CLI), Duration.ofMillis(50));

        assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
        assertThat(lifecycle.snapshot().history()).extracting(t -> t.to()).containsExactly(State.READY, State.DRAINING, State.DRAINED);
    }

    @Test
    void laterTriggersJoinTheFirstDrain() {
        DrainCoordinator coordinator = coordinator(Duration.ofSeconds(10), Duration.ofSeconds(1), Propagation.fixed(Duration.ofMillis(200), time),
                new ProbeWithdrawal(), List.of());
        CompletableFuture<DrainReport> first = coordinator.trigger(Trigger.PRESTOP);
        CompletableFuture<DrainReport> second = coordinator.trigger(Trigger.SIGNAL);

        // The drain waits out its propagation delay: its deadline is fixed and its report live, still running.
        assertThat(coordinator.report()).get().extracting(DrainReport::outcome).isEqualTo(DrainOutcome.RUNNING);
        DrainReport report = endsAt(first, Duration.ofMillis(200));
        assertThat(second.join()).isSameAs(report);
        assertThat(report.trigger()).isEqualTo(Trigger.PRESTOP);
        assertThat(coordinator.trigger(Trigger.CLI).join()).isSameAs(report);
    }
}
