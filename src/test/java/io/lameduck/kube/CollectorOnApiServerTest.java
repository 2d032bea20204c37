package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.lameduck.collect.Collector;
import io.lameduck.collect.Termination;
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
 * in a ConfigMap, and across a restart, a relist and a state someone else overwrote, counts each termination once.
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
        try (Collector collector = collector(first)) {
            collector.start();
            await().atMost(Duration.ofSeconds(20)).until(collector::ready);
            drained("web-2", "web", "completed");
            drained("db-1", "db", "deadline_exceeded");
            await().atMost(Duration.ofSeconds(20)).until(() -> counted(first, "web") == 2 && counted(first, "db") == 1);
            assertThat(collector.recent(cluster.namespace(), "web", 10)).extracting(Termination::pod).containsExactly("web-2", "web-1");
        } // close() writes the state

        assertThat(state().getBinaryData()).containsKey("ledger.json.gz");
        drained("web-3", "web", "completed"); // while no collector runs

        PrometheusRegistry second = new PrometheusRegistry();
        try (Collector restarted = collector(second)) {
            restarted.start();
            await().atMost(Duration.ofSeconds(20)).until(restarted::ready);
            // The relist saw all four Events: three were counted before the restart, one is new.
            assertThat(counted(second, "web")).isEqualTo(3);
            assertThat(counted(second, "db")).isEqualTo(1);
            assertThat(collectorCounter(second, "lameduck_collector_reports", "duplicate")).isGreaterThanOrEqualTo(3);
            assertThat(restarted.recent(cluster.namespace(), "web", 10)).extracting(Termination::pod).containsExactly("web-3", "web-2", "web-1");
        }
    }

    @Test
    void aStateOverwrittenBehindItsBackIsReloadedAndTheEventsCountedAgainstIt() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (Collector collector = collector(registry)) {
            collector.start();
            await().atMost(Duration.ofSeconds(20)).until(collector::ready);
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
        try (Collector restarted = collector(after)) {
            restarted.start();
            await().atMost(Duration.ofSeconds(20)).until(restarted::ready);
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
        try (Collector restarted = collector(after)) {
            restarted.start();
            await().atMost(Duration.ofSeconds(20)).until(restarted::ready);
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
        try (Collector collector = collector(registry)) {
            collector.start();
            await().atMost(Duration.ofSeconds(20)).until(collector::ready);
            double before = collectorCounter(registry, "lameduck_collector_reports", "invalid");
            cluster.admin().v1().events().inNamespace(cluster.namespace())
                    .resource(ReportEvents.of(cluster.namespace(), "forged.1", "web-1", "web", "not json")).create();
            await().atMost(Duration.ofSeconds(20)).until(() -> collectorCounter(registry, "lameduck_collector_reports", "invalid") > before);
            assertThat(counted(registry, "web")).isZero();
        }
    }
}
