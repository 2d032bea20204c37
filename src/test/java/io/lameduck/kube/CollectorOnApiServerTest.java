package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.lameduck.collect.Collector;
import io.lameduck.collect.Termination;
import io.lameduck.drain.Trigger;
import io.lameduck.restart.RestartCycle;
import io.lameduck.restart.RestartStatus;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fleet collector against the real kube-apiserver: it counts the report Events of every namespace, keeps its totals
 * in a ConfigMap, and across a restart (with or without the Events still there), a relist and a state someone else
 * overwrote, counts each termination once; and it counts the restart cycles the agent's Events report by how they ended.
 */
@Tag("kube")
class CollectorOnApiServerTest {
    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("collector");

    private int events;

    /** A report Event as the agent writes it at a drain's end. */
    private void drained(String pod, String workload, String outcome) {
        events++;
        String report = "{\"id\":\"drain-" + events + "\",\"trigger\":\"prestop\",\"outcome\":\"" + outcome + "\",\"durationSeconds\":3.5,\"finishedAt\":\"" + Instant.now() + "\","
                + "\"steps\":[{\"name\":\"withdraw\",\"outcome\":\"completed\",\"durationSeconds\":0.7}],\"hooks\":[]}";
        cluster.admin().v1().events().inNamespace(cluster.namespace())
                .resource(ReportEvents.of(cluster.namespace(), pod + ".report" + events, pod, workload, report)).create();
    }

    private Collector collector(PrometheusRegistry registry) {
        return Collector.create(cluster.admin(), cluster.namespace(), "collector-state", 100, 20, registry);
    }

    /** A collector on {@code registry}, started and ready: its first list of Events counted, on the state it read. */
    private Collector startedReady(PrometheusRegistry registry) throws Exception {
        Collector collector = collector(registry);
        try {
            collector.start();
            await().atMost(Duration.ofSeconds(20)).until(collector::ready);
            return collector;
        } catch (Exception e) { // not left running when it failed to become ready
            collector.close();
            throw e;
        }
    }

    /** Terminations counted for {@code workload} of this test's namespace. */
    private long counted(PrometheusRegistry registry, String workload) {
        double sum = 0;
        for (MetricSnapshot snapshot : registry.scrape()) {
            if (snapshot.getMetadata().getName().equals("lameduck_fleet_terminations")) {
                for (CounterSnapshot.CounterDataPointSnapshot point : ((CounterSnapshot) snapshot).getDataPoints()) {
                    if (cluster.namespace().equals(point.getLabels().get("namespace")) && workload.equals(point.getLabels().get("workload"))) {
                        sum += point.getValue();
                    }
                }
            }
        }
        return (long) sum;
    }

    private static double collectorCounter(PrometheusRegistry registry, String name, String result) {
        for (MetricSnapshot snapshot : registry.scrape()) {
            if (snapshot.getMetadata().getName().equals(name)) {
                return ((CounterSnapshot) snapshot).getDataPoints().stream().filter(p -> result.equals(p.getLabels().get("result")))
                        .mapToDouble(CounterSnapshot.CounterDataPointSnapshot::getValue).sum();
            }
        }
        return 0;
    }

    private ConfigMap state() {
        return cluster.admin().configMaps().inNamespace(cluster.namespace()).withName("collector-state").get();
    }

    @Test
    void countsEveryReportOnceAcrossARestartAndItsRelist() throws Exception {
        drained("web-1", "web", "completed"); // written before the collector ever ran
        PrometheusRegistry first = new PrometheusRegistry();
        try (Collector collector = startedReady(first)) {
            drained("web-2", "web", "completed");
            drained("db-1", "db", "deadline_exceeded");
            await().atMost(Duration.ofSeconds(20)).until(() -> counted(first, "web") == 2 && counted(first, "db") == 1);
            assertThat(collector.recent(cluster.namespace(), "web", 10)).extracting(Termination::pod).containsExactly("web-2", "web-1");
        } // close() writes the state

        assertThat(state().getBinaryData()).containsKey("ledger.json.gz");
        drained("web-3", "web", "completed"); // while no collector runs

        PrometheusRegistry second = new PrometheusRegistry();
        try (Collector restarted = startedReady(second)) {
            // The relist saw all four Events: three were counted before the restart, one is new.
            assertThat(counted(second, "web")).isEqualTo(3);
            assertThat(counted(second, "db")).isEqualTo(1);
            assertThat(collectorCounter(second, "lameduck_collector_reports", "duplicate")).isGreaterThanOrEqualTo(3);
            assertThat(restarted.recent(cluster.namespace(), "web", 10)).extracting(Termination::pod).containsExactly("web-3", "web-2", "web-1");
        }
    }

    /**
     * What was acknowledged (written to the state) is not re-derived from the Events: with every report Event deleted
     * before the restart, the new collector still has the same counts, the same recent terminations, and counts a report
     * that arrived while it was down exactly once.
     */
    @Test
    void aRestartWithTheReportEventsDeletedLosesNoAcknowledgedCountNorRecentTermination() throws Exception {
        PrometheusRegistry first = new PrometheusRegistry();
        java.util.List<Termination> before;
        try (Collector collector = startedReady(first)) {
            for (int i = 1; i <= 5; i++) {
                drained("web-" + i, "web", i == 3 ? "deadline_exceeded" : "completed");
            }
            drained("db-1", "db", "completed");
            await().atMost(Duration.ofSeconds(20)).until(() -> counted(first, "web") == 5 && counted(first, "db") == 1);
            before = collector.recent(cluster.namespace(), null, 50);
        } // close() writes the state: the counts are acknowledged
        assertThat(before).hasSize(6);
        java.util.Map<String, Long> metricsBefore = fleetSeries(first);
        assertThat(metricsBefore).containsEntry("lameduck_fleet_terminations{namespace=" + cluster.namespace()
                + ",outcome=deadline_exceeded,trigger=prestop,workload=web,workload_kind=Deployment,}", 1L);

        cluster.admin().v1().events().inNamespace(cluster.namespace()).withLabel(DrainReportEvent.REPORT_LABEL).delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.admin().v1().events().inNamespace(cluster.namespace())
                .withLabel(DrainReportEvent.REPORT_LABEL).list().getItems().isEmpty());

        PrometheusRegistry second = new PrometheusRegistry();
        try (Collector restarted = startedReady(second)) {
            assertThat(counted(second, "web")).isEqualTo(5);
            assertThat(fleetSeries(second)).as("every fleet series, from the state alone").isEqualTo(metricsBefore);
            assertThat(restarted.recent(cluster.namespace(), null, 50)).as("the recent terminations, from the state alone")
                    .isEqualTo(before);
        }

        drained("web-6", "web", "completed"); // while no collector runs
        PrometheusRegistry third = new PrometheusRegistry();
        try (Collector again = startedReady(third)) {
            assertThat(counted(third, "web")).isEqualTo(6);
            assertThat(again.recent(cluster.namespace(), "web", 50)).extracting(Termination::pod)
                    .containsExactly("web-6", "web-5", "web-4", "web-3", "web-2", "web-1");
        }
        PrometheusRegistry fourth = new PrometheusRegistry();
        try (Collector once = startedReady(fourth)) {
            // The Events of other tests' namespaces may be listed too: only this namespace's series are compared.
            assertThat(counted(fourth, "web")).as("the report that came while it was down, counted once").isEqualTo(6);
        }
    }

    /**
     * The agent's own Events (its PodEvents, as the restart cycle tells it) carry how each restart cycle ended; the
     * collector counts them by trigger and outcome, apart from the terminations, and keeps them across a restart.
     */
    @Test
    void restartCyclesWrittenByTheAgentAreCountedByHowTheyEnded() throws Exception {
        cluster.runPod("cycling", java.util.Map.of("app", "cycling"), java.util.List.of(), 30);
        Instant now = Instant.now();
        try (KubeIntegration kube = KubeIntegration.using(KubeTestSupport.config("label", "5s"), cluster.agentClient(),
                cluster.identity("cycling"), new PrometheusRegistry())) { // reads the pod: the workload the reports name
            RestartCycle.Listener events = kube.restartEvents();
            events.cycleEnded(new RestartStatus(false, "restored", Trigger.CONTAINER_EXIT, now, now, java.util.List.of("app"), "restart-1",
                    "container(s) [app] restarted and ready again"));
            events.cycleEnded(new RestartStatus(false, "restored", Trigger.CONTAINER_EXIT, now, now, java.util.List.of("app"), "restart-2",
                    "container(s) [app] restarted and ready again"));
            events.cycleEnded(new RestartStatus(false, "restored-without-restart", Trigger.CONTAINER_RESTART, now, now, java.util.List.of(),
                    "restart-3", "no container stopped or restarted"));
            events.cycleEnded(new RestartStatus(false, "superseded", Trigger.CONTAINER_RESTART, now, now, java.util.List.of("app"),
                    "restart-4", "a drain began"));
        } // close() flushes the Events
        java.util.Map<String, Long> expected = java.util.Map.of("container-exit/restored", 2L,
                "container-restart/restored-without-restart", 1L, "container-restart/superseded", 1L);

        PrometheusRegistry registry = new PrometheusRegistry();
        try (Collector collector = collector(registry)) {
            collector.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> restartCycles(registry, "cycling").equals(expected));
            assertThat(counted(registry, "cycling")).as("a cycle's end is not a termination").isZero();
        }
        PrometheusRegistry restarted = new PrometheusRegistry();
        try (Collector again = startedReady(restarted)) {
            assertThat(restartCycles(restarted, "cycling")).isEqualTo(expected);
        }
    }

    /** Restart cycles of {@code workload} by {@code trigger/outcome}. */
    private java.util.Map<String, Long> restartCycles(PrometheusRegistry registry, String workload) {
        java.util.Map<String, Long> byEnd = new java.util.TreeMap<>();
        fleetSeries(registry).forEach((series, value) -> {
            if (series.startsWith("lameduck_fleet_restart_cycles{") && series.contains("workload=" + workload + ",")) {
                byEnd.put(label(series, "trigger") + "/" + label(series, "outcome"), value);
            }
        });
        return byEnd;
    }

    private static String label(String series, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("[{,]" + name + "=([^,}]*)").matcher(series);
        return m.find() ? m.group(1) : null;
    }

    /** Every counter series of the fleet metrics of this test's namespace, by name and labels. */
    private java.util.Map<String, Long> fleetSeries(PrometheusRegistry registry) {
        java.util.Map<String, Long> series = new java.util.TreeMap<>();
        for (MetricSnapshot snapshot : registry.scrape()) {
            String name = snapshot.getMetadata().getName();
            if (!name.startsWith("lameduck_fleet_")) {
                continue;
            }
            for (io.prometheus.metrics.model.snapshots.DataPointSnapshot point : snapshot.getDataPoints()) {
                if (!cluster.namespace().equals(point.getLabels().get("namespace"))) {
                    continue;
                }
                long value = point instanceof CounterSnapshot.CounterDataPointSnapshot c ? (long) c.getValue()
                        : ((io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot) point).getCount();
                StringBuilder key = new StringBuilder(name).append('{');
                point.getLabels().forEach(l -> key.append(l.getName()).append('=').append(l.getValue()).append(','));
                series.put(key.append('}').toString(), value);
            }
        }
        return series;
    }

    @Test
    void aStateOverwrittenBehindItsBackIsReloadedAndTheEventsCountedAgainstIt() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (Collector collector = startedReady(registry)) {
            drained("web-1", "web", "completed");
            drained("web-2", "web", "completed");
            await().atMost(Duration.ofSeconds(20)).until(() -> state() != null && counted(registry, "web") == 2
                    && collectorCounter(registry, "lameduck_collector_state_writes", "ok") >= 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> collectorCounter(registry, "lameduck_collector_state_writes", "ok") >= 1);
            ConfigMap older = state(); // what a stale second collector would write back
            drained("web-3", "web", "completed");
            await().atMost(Duration.ofSeconds(10)).until(() -> !state().getMetadata().getResourceVersion().equals(older.getMetadata().getResourceVersion()));
            ConfigMap stale = state();
            stale.setBinaryData(older.getBinaryData());
            cluster.admin().configMaps().inNamespace(cluster.namespace()).resource(stale).update();

            drained("web-4", "web", "completed"); // its write meets the stale state: 409, reload, relist
            await().atMost(Duration.ofSeconds(20)).until(() -> collectorCounter(registry, "lameduck_collector_state_writes", "conflict") >= 1
                    && counted(registry, "web") == 4);
            Thread.sleep(2 * Collector.WRITE_EVERY.toMillis()); // a wrong count would have had time to show
            assertThat(counted(registry, "web")).isEqualTo(4);
        }
        PrometheusRegistry after = new PrometheusRegistry();
        try (Collector restarted = startedReady(after)) {
            assertThat(counted(after, "web")).as("the state written after the reload").isEqualTo(4);
        }
    }

    @Test
    void aStateConfigMapDeletedByHandIsWrittenAgainWithEverythingCounted() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (Collector collector = collector(registry)) {
            collector.start();
            drained("web-1", "web", "completed");
            await().atMost(Duration.ofSeconds(20)).until(() -> state() != null);
            cluster.admin().configMaps().inNamespace(cluster.namespace()).withName("collector-state").delete();
            await().atMost(Duration.ofSeconds(10)).until(() -> state() == null);
            drained("web-2", "web", "completed");
            await().atMost(Duration.ofSeconds(20)).until(() -> collectorCounter(registry, "lameduck_collector_state_writes", "error") >= 1
                    && state() != null);
        }
        PrometheusRegistry after = new PrometheusRegistry();
        try (Collector restarted = startedReady(after)) {
            assertThat(counted(after, "web")).isEqualTo(2);
        }
    }

    @Test
    void withoutTheRightToReadItsStateItDoesNotStartAndSaysWhichRoleIsMissing() {
        // The agents' account: it may not read ConfigMaps.
        Collector collector = Collector.create(cluster.agentClient(), cluster.namespace(), "collector-state", 100, 20, new PrometheusRegistry());
        assertThatThrownBy(collector::start).hasMessageContaining("reading ConfigMap " + cluster.namespace() + "/collector-state")
                .hasMessageContaining("the collector's Role must allow get, create and update on configmaps");
    }

    @Test
    void anInvalidReportEventIsCountedAsInvalidNotAsATermination() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (Collector collector = startedReady(registry)) {
            double before = collectorCounter(registry, "lameduck_collector_reports", "invalid");
            cluster.admin().v1().events().inNamespace(cluster.namespace())
                    .resource(ReportEvents.of(cluster.namespace(), "forged.1", "web-1", "web", "not json")).create();
            await().atMost(Duration.ofSeconds(20)).until(() -> collectorCounter(registry, "lameduck_collector_reports", "invalid") > before);
            assertThat(counted(registry, "web")).isZero();
        }
    }
}
