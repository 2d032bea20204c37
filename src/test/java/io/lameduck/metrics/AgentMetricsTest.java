package io.lameduck.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.drain.Cause;
import io.lameduck.drain.HookReport;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.drain.Outcome;
import io.lameduck.drain.StepName;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.TrafficReport;
import io.lameduck.drain.Trigger;
import io.lameduck.drain.StepReport;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.restart.RestartStatus;
import io.lameduck.time.Deadline;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class AgentMetricsTest {
    private final AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry(), "1.2.3", false);
    private final Lifecycle lifecycle = new Lifecycle();

    AgentMetricsTest() {
        lifecycle.addListener(metrics.lifecycleListener());
    }

    @Test
    void freshAgentExportsVersionCreatedStateAndZeroedDrainCounters() {
        assertThat(lines()).contains(
                "lameduck_info{version=\"1.2.3\"} 1",
                "lameduck_state{lameduck_state=\"created\"} 1",
                "lameduck_state{lameduck_state=\"ready\"} 0",
                "lameduck_maintenance 0.0",
                "lameduck_drains_total{outcome=\"completed\",trigger=\"prestop\"} 0.0",
                "lameduck_drains_total{outcome=\"deadline_exceeded\",trigger=\"signal\"} 0.0",
                "lameduck_drains_total{outcome=\"failed\",trigger=\"pod-deletion\"} 0.0");
        assertThat(samples("lameduck_drains_total")).hasSize(6 * 3);
        assertThat(samples("lameduck_restart_cycles_total")).as("2 restart triggers x 3 ends").hasSize(6)
                .allMatch(line -> line.endsWith(" 0.0"));
        assertThat(samples("lameduck_drain_causes_total")).as("one series per cause kind").hasSize(Cause.Kind.values().length)
                .allMatch(line -> line.endsWith(" 0.0"));
        assertThat(metrics.scrapeText())
                .doesNotContain("running")
                .doesNotContain("lameduck_drain_deadline_remaining_seconds")
                .doesNotContain("lameduck_app_connections")
                .doesNotContain("jvm_");
    }

    @Test
    void restartCyclesAreCountedByTriggerAndEnd() {
        metrics.restartListener().cycleEnded(new RestartStatus(false, "restored", Trigger.CONTAINER_EXIT, Instant.EPOCH, Instant.EPOCH,
                List.of("app"), "restart-1", "app restarted"));
        assertThat(lines()).contains("lameduck_restart_cycles_total{end=\"restored\",trigger=\"container-exit\"} 1.0");
    }

    @Test
    void stateSetFollowsTheLifecycleWithExactlyOneStateTrue() {
        List<String> expectedStates = List.of("created", "starting", "ready", "draining", "drained", "stopping", "stopped", "failed");
        assertThat(samples("lameduck_state")).hasSize(expectedStates.size());

        for (State state : List.of(State.STARTING, State.READY, State.DRAINING, State.DRAINED, State.STOPPING, State.STOPPED)) {
            lifecycle.moveTo(state, "test");
            String expected = state.name().toLowerCase();
            assertThat(samples("lameduck_state")).as("after moving to %s", state).containsExactlyInAnyOrderElementsOf(expectedStates.stream()
                    .map(s -> "lameduck_state{lameduck_state=\"" + s + "\"} " + (s.equals(expected) ? 1 : 0))
                    .collect(Collectors.toList()));
        }
    }

    @Test
    void completedDrainIsCountedWithItsStepsAndHooks() {
        lifecycle.moveTo(State.READY, "started");
        lifecycle.moveTo(State.DRAINING, "drain-1 started");
        Drains.drive(metrics.drainListener(), Drains.completed());
        lifecycle.moveTo(State.DRAINED, "drain-1 completed");

        assertThat(lines()).contains(
                "lameduck_state{lameduck_state=\"drained\"} 1",
                "lameduck_drains_total{outcome=\"completed\",trigger=\"prestop\"} 1.0",
                "lameduck_drains_total{outcome=\"completed\",trigger=\"signal\"} 0.0",
                "lameduck_drain_duration_seconds_bucket{outcome=\"completed\",le=\"5.0\"} 0",
                "lameduck_drain_duration_seconds_bucket{outcome=\"completed\",le=\"10.0\"} 1",
                "lameduck_drain_duration_seconds_count{outcome=\"completed\"} 1",
                "lameduck_drain_duration_seconds_sum{outcome=\"completed\"} 8.501",
                "lameduck_drain_step_duration_seconds_count{step=\"unready\"} 1",
                "lameduck_drain_step_duration_seconds_count{step=\"withdraw\"} 1",
                "lameduck_drain_step_duration_seconds_sum{step=\"withdraw\"} 1.2",
                "lameduck_drain_step_duration_seconds_count{step=\"propagate\"} 1",
                "lameduck_drain_step_duration_seconds_count{step=\"hooks\"} 1",
                "lameduck_hook_duration_seconds_count{hook=\"app-drain\",kind=\"http\",outcome=\"completed\"} 1",
                "lameduck_hook_duration_seconds_sum{hook=\"app-drain\",kind=\"http\",outcome=\"completed\"} 0.3",
                "lameduck_hook_duration_seconds_count{hook=\"idle\",kind=\"wait-idle\",outcome=\"completed\"} 1",
                "lameduck_hook_runs_total{hook=\"app-drain\",kind=\"http\",outcome=\"completed\"} 1.0",
                "lameduck_hook_runs_total{hook=\"idle\",kind=\"wait-idle\",outcome=\"completed\"} 1.0");
        assertThat(samples("lameduck_drains_total")).filteredOn(line -> !line.endsWith(" 0.0"))
                .containsExactly("lameduck_drains_total{outcome=\"completed\",trigger=\"prestop\"} 1.0");
    }

    @Test
    void aKubeletEvictionIsCountedByItsCauseAndADrainWithoutOneIsNot() {
        DrainReport base = Drains.completed();
        metrics.drainListener().drainFinished(base);
        metrics.drainListener().drainFinished(new DrainReport(base.id(), Trigger.SIGNAL,
                new Cause(Cause.Kind.KUBELET_EVICTION, "Evicted: Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\"."),
                base.outcome(), base.startedAt(), base.finishedAt(), base.deadline(), base.deadlineSource(), base.durationSeconds(),
                base.steps(), null, base.hooks(), null));

        assertThat(samples("lameduck_drain_causes_total")).filteredOn(line -> !line.endsWith(" 0.0"))
                .as("the detail stays in the report: the label is the bounded kind")
                .containsExactly("lameduck_drain_causes_total{cause=\"kubelet-eviction\"} 1.0");
        assertThat(samples("lameduck_drains_total")).filteredOn(line -> !line.endsWith(" 0.0")).containsExactlyInAnyOrder(
                "lameduck_drains_total{outcome=\"completed\",trigger=\"prestop\"} 1.0",
                "lameduck_drains_total{outcome=\"completed\",trigger=\"signal\"} 1.0");
    }

    @Test
    void theLastNewConnectionAndRequestAreObservedOncePerDrainFromTheWithdrawalAndZeroWhenNoneArrived() {
        DrainReport base = Drains.completed();
        // withdrawn 1.0 s into the drain; the last new connection 3.7 s, the last request (on a reused connection) 4.5 s in
        TrafficReport late = new TrafficReport(List.of(8080), null, 6.0, 1.0, 7, 3.7, Instant.EPOCH, "10.244.0.7:40112",
                40, 4.5, Instant.EPOCH, "10.244.0.9:51000", "reused", 1.5, 1.0, "the quiet period", true, List.of(),
                List.of(new TrafficReport.Source("10.244.0.9", 0, 40, 4.5), new TrafficReport.Source("10.244.0.7", 7, 0, 3.7)), null);
        TrafficReport none = new TrafficReport(List.of(8080), null, 2.0, 0.5, 0, null, null, null, 0, null, null, null, null, 1.5,
                1.0, "low traffic", true, List.of(), List.of(), null);
        // still sending at the maximum: counted once
        TrafficReport notStopped = new TrafficReport(List.of(8080), null, 16.0, 1.0, 0, null, null, null, 300, 16.0, Instant.EPOCH,
                "10.244.0.9:51000", "reused", 0.0, 1.0, "the quiet period", false, List.of("10.244.0.9"), List.of(), null);
        for (TrafficReport traffic : List.of(late, none, notStopped)) {
            metrics.drainListener().drainFinished(new DrainReport(base.id(), base.trigger(), null, base.outcome(), base.startedAt(),
                    base.finishedAt(), base.deadline(), base.deadlineSource(), base.durationSeconds(), base.steps(), null, base.hooks(), traffic));
        }
        metrics.drainListener().drainFinished(base); // no app ports known: nothing to observe

        assertThat(lines()).contains(
                "lameduck_drain_last_new_connection_seconds_bucket{le=\"0.0\"} 2",
                "lameduck_drain_last_new_connection_seconds_bucket{le=\"3.0\"} 3",
                "lameduck_drain_last_new_connection_seconds_count 3",
                "lameduck_drain_last_new_connection_seconds_sum 2.7",
                "lameduck_drain_last_request_seconds_bucket{le=\"0.0\"} 1",
                "lameduck_drain_last_request_seconds_count 3",
                "lameduck_drain_last_request_seconds_sum 18.5",
                "lameduck_drain_traffic_not_stopped_total 1.0");
    }

    @Test
    void skippedStepsAndHooksAreCountedButNotTimed() {
        metrics.drainListener().stepFinished("d", new StepReport(StepName.PROPAGATE, Outcome.SKIPPED, 0, null, "skipped"));
        metrics.drainListener().hookFinished("d", new HookReport("late", "exec", 1, "quiet", Outcome.SKIPPED, 0, "skipped"));

        assertThat(lines()).contains("lameduck_hook_runs_total{hook=\"late\",kind=\"exec\",outcome=\"skipped\"} 1.0");
        assertThat(metrics.scrapeText())
                .doesNotContain("step=\"propagate\"")
                .doesNotContain("lameduck_hook_duration_seconds_count{hook=\"late\"");
    }

    @Test
    void deadlineGaugeReportsTheRemainingTimeOnlyWhileDraining() {
        AtomicLong nanos = new AtomicLong();
        Deadline deadline = Deadline.after(Duration.ofSeconds(30), nanos::get, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));
        metrics.setDeadlineRemaining(() -> Optional.of(deadline.remaining()));
        lifecycle.moveTo(State.READY, "started");
        assertThat(metrics.scrapeText()).doesNotContain("lameduck_drain_deadline_remaining_seconds");

        lifecycle.moveTo(State.DRAINING, "drain started");
        nanos.set(Duration.ofMillis(12_500).toNanos());
        assertThat(lines()).contains(
                "# TYPE lameduck_drain_deadline_remaining_seconds gauge",
                "lameduck_drain_deadline_remaining_seconds 17.5");
        nanos.set(Duration.ofSeconds(31).toNanos());
        assertThat(lines()).contains("lameduck_drain_deadline_remaining_seconds 0.0");

        lifecycle.moveTo(State.DRAINED, "drain finished");
        assertThat(metrics.scrapeText()).doesNotContain("lameduck_drain_deadline_remaining_seconds");
    }

    @Test
    void connectionsGaugeSamplesEachConfiguredPortAtScrapeTimeAndSkipsBrokenOnes() {
        AtomicInteger open = new AtomicInteger(3);
        metrics.sampleConnections(Map.of(
                8080, open::get,
                8443, () -> 0,
                9000, () -> { throw new IllegalStateException("cannot read /proc/net/tcp"); }));
        assertThat(samples("lameduck_app_connections")).containsExactly(
                "lameduck_app_connections{port=\"8080\"} 3.0",
                "lameduck_app_connections{port=\"8443\"} 0.0");
        open.set(1);
        assertThat(lines()).contains("lameduck_app_connections{port=\"8080\"} 1.0");
    }

    @Test
    void maintenanceGaugeFollowsMaintenanceChanges() {
        metrics.maintenanceListener().maintenanceChanged(new MaintenanceStatus(true, "kernel upgrade", Instant.EPOCH, null, "withdrawn"));
        assertThat(lines()).contains("lameduck_maintenance 1.0");
        metrics.maintenanceListener().maintenanceChanged(MaintenanceStatus.OFF);
        assertThat(lines()).contains("lameduck_maintenance 0.0");
    }

    @Test
    void httpRequestsAreCountedByKnownPathAndCode() {
        metrics.recordHttpRequest("/readyz", 200, Duration.ofMillis(2));
        metrics.recordHttpRequest("/readyz", 503, Duration.ofMillis(3));
        metrics.recordHttpRequest("/prestop", 200, Duration.ofSeconds(9));
        metrics.recordHttpRequest("/wp-admin", 404, Duration.ofMillis(1));

        assertThat(samples("lameduck_http_requests_total")).containsExactlyInAnyOrder(
                "lameduck_http_requests_total{code=\"200\",path=\"/readyz\"} 1.0",
                "lameduck_http_requests_total{code=\"503\",path=\"/readyz\"} 1.0",
                "lameduck_http_requests_total{code=\"200\",path=\"/prestop\"} 1.0",
                "lameduck_http_requests_total{code=\"404\",path=\"other\"} 1.0");
        assertThat(lines()).contains(
                "lameduck_http_request_duration_seconds_bucket{path=\"/readyz\",le=\"0.0025\"} 1",
                "lameduck_http_request_duration_seconds_count{path=\"/readyz\"} 2",
                "lameduck_http_request_duration_seconds_bucket{path=\"/prestop\",le=\"10.0\"} 1",
                "lameduck_http_request_duration_seconds_count{path=\"other\"} 1");
    }

    @Test
    void jvmMetricsAreRegisteredOnlyWhenAsked() {
        AgentMetrics withJvm = new AgentMetrics(new PrometheusRegistry(), "1.2.3", true);
        assertThat(withJvm.scrapeText()).contains("jvm_memory_used_bytes", "lameduck_info");
    }

    private List<String> lines() {
        return Arrays.asList(metrics.scrapeText().split("\n"));
    }

    /** The sample lines of one metric family, in exposition order. */
    private List<String> samples(String name) {
        return lines().stream().filter(line -> line.startsWith(name + "{") || line.startsWith(name + " ")).collect(Collectors.toList());
    }
}
