package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static io.lameduck.kube.KubeTestSupport.labels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lameduck.collect.Termination;
import io.lameduck.collect.TerminationParser;
import io.lameduck.collect.WorkloadKey;
import io.lameduck.config.AgentConfig;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.Cause;
import io.lameduck.drain.DrainCoordinator;
import io.lameduck.drain.DrainOutcome;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.Drainer;
import io.lameduck.drain.HookReport;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.drain.Outcome;
import io.lameduck.drain.Propagation;
import io.lameduck.drain.StepName;
import io.lameduck.drain.StepReport;
import io.lameduck.drain.TrafficReport;
import io.lameduck.drain.Trigger;
import io.lameduck.drain.Withdrawal;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.time.TimeSource;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The rest of the integration against a real kube-apiserver: budget, deletion, maintenance, Events, a whole drain. */
@Tag("kube")
class KubeIntegrationTest {
    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("integration");

    @Test
    void aPodBeingDeletedReportsTheTimeLeftUntilItsDeletionTimestampAndIsReadyFalseButNotWithdrawnWhileItStillServes() throws Exception {
        Pod pod = cluster.servingPod("deleted", Map.of("app", "deleted"), 45);
        try (KubeIntegration kube = KubeIntegration.using(config("probe", "5s"), cluster.agentClient(), cluster.identity("deleted"),
                new PrometheusRegistry())) {
            assertThat(kube.budgetSource().budget()).isEqualTo(new BudgetSource.Budget(Duration.ofSeconds(45), "pod terminationGracePeriodSeconds"));
            assertThat(kube.startupState().deleting()).isFalse();

            // No kubelet finishes the deletion, so the pod stays with its deletionTimestamp set.
            cluster.deletePod("deleted", 60);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> kube.startupState().deleting());

            BudgetSource.Budget budget = kube.budgetSource().budget();
            assertThat(budget.total()).isBetween(Duration.ofSeconds(50), Duration.ofSeconds(60));
            assertThat(budget.source()).startsWith("pod deletionTimestamp ");
            // Kubernetes itself marks the endpoints of a deleted pod not ready, but still serving (and terminating):
            // kube-proxy falls back to such endpoints, so that is not withdrawn.
            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(1));
            assertThat(result.status()).as(result.detail()).isEqualTo(Withdrawal.Status.TIMED_OUT);
            assertThat(result.detail()).contains("the pod is still serving in 1 of 1 EndpointSlice of Service deleted (ready=false seen after ");
            assertThat(result.report().readyFalseSeenAfterSeconds()).isLessThan(1.0);
            assertThat(result.report().servingFalseSeenAt()).isNull();
            assertThat(cluster.endpointReady("deleted", pod)).contains(false);
        }
    }

    /**
     * The Eviction API (what {@code kubectl drain} calls) sets the pod's DisruptionTarget condition, reason
     * EvictionByEvictionAPI, before it deletes the pod: the budget read that finds the deletion names that as the drain's
     * cause, read through the agent's own Role.
     */
    @Test
    void anEvictionThroughTheApiIsTheDrainsCause() throws Exception {
        cluster.servingPod("drained", Map.of("app", "drained"), 45);
        try (KubeIntegration kube = KubeIntegration.using(config("label", "1s"), cluster.agentClient(), cluster.identity("drained"),
                new PrometheusRegistry())) {
            assertThat(kube.budgetSource().budget().cause()).as("a pod nobody is taking away").isEmpty();

            assertThat(cluster.admin().pods().inNamespace(cluster.namespace()).withName("drained").evict()).as("evicted").isTrue();
            BudgetSource.Budget budget = Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> kube.budgetSource().budget(), b -> b.source().startsWith("pod deletionTimestamp "));
            assertThat(budget.cause()).as(budget.toString()).hasValueSatisfying(cause -> {
                assertThat(cause.kind()).isEqualTo(Cause.Kind.EVICTION_BY_EVICTION_API);
                assertThat(cause.detail()).startsWith("EvictionByEvictionAPI: ");
            });
        }
    }

    /**
     * The kubelet's Evicted Event (written here by the admin client the way the kubelet's recorder writes it: on the pod, by
     * name and uid) is read through the agent's Role: the budget becomes the kubelet's 2 s and the readiness-gate
     * withdrawal also sets Ready False. Another pod's Evicted Event does not count.
     */
    @Test
    void theKubeletsEvictedEventOnThePodShortensTheBudgetAndAlsoWithdrawsReady() throws Exception {
        Pod pod = cluster.runPod("evicted", Map.of("app", "evicted"), List.of("lameduck.io/serving"), 30);
        Pod other = cluster.runPod("neighbour", Map.of("app", "neighbour"), List.of(), 30);
        try (KubeIntegration kube = KubeIntegration.using(config("readiness-gate", "1s"), cluster.agentClient(), cluster.identity("evicted"),
                new PrometheusRegistry())) {
            evicted(other);
            assertThat(kube.kubeletEviction()).as("a neighbour's eviction").isEmpty();
            assertThat(kube.budgetSource().budget().source()).isEqualTo("pod terminationGracePeriodSeconds");

            kube.withdrawal().restore();
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> cluster.pod("evicted")
                    .getStatus().getConditions().stream().anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True")));
            evicted(pod);
            assertThat(kube.kubeletEviction()).hasValueSatisfying(e -> assertThat(e.detail()).startsWith("Evicted: Usage of EmptyDir volume"));
            BudgetSource.Budget budget = kube.budgetSource().budget();
            assertThat(budget.total()).isEqualTo(Duration.ofSeconds(2));
            assertThat(budget.source()).startsWith("kubelet eviction (Event Evicted: Usage of EmptyDir volume \"tmp\"");
            assertThat(budget.cause()).as("the drain's report names the eviction").hasValueSatisfying(cause -> {
                assertThat(cause.kind()).isEqualTo(Cause.Kind.KUBELET_EVICTION);
                assertThat(cause.detail()).isEqualTo("Evicted: Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\".");
            });

            // The stand-in kubelet of these tests puts Ready back as it computes it; the watch sees every version in between.
            List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (io.fabric8.kubernetes.client.Watch ignored = cluster.admin().pods().inNamespace(cluster.namespace()).withName("evicted").watch(
                    new io.fabric8.kubernetes.client.Watcher<>() {
                        @Override
                        public void eventReceived(Action action, Pod changed) {
                            changed.getStatus().getConditions().forEach(c -> seen.add(c.getType() + "=" + c.getStatus() + " " + c.getReason()));
                        }

                        @Override
                        public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {}
                    })) {
                kube.withdrawal().withdraw(Duration.ofSeconds(1));
                Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen)
                        .contains("Ready=False LameduckKubeletEviction", "lameduck.io/serving=False Withdrawn"));
            }
        }
    }

    private void evicted(Pod pod) {
        cluster.admin().v1().events().inNamespace(cluster.namespace()).resource(new io.fabric8.kubernetes.api.model.EventBuilder()
                .withNewMetadata().withGenerateName(pod.getMetadata().getName() + ".").endMetadata()
                .withNewInvolvedObject().withKind("Pod").withNamespace(cluster.namespace()).withName(pod.getMetadata().getName())
                .withUid(pod.getMetadata().getUid()).endInvolvedObject()
                .withReason("Evicted").withType("Warning").withMessage("Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\". ")
                .withNewSource().withComponent("kubelet").endSource()
                .withLastTimestamp(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()).build()).create();
    }

    @Test
    void maintenanceIsPersistedAsAPodAnnotationAndReadBackByTheNextAgent() {
        cluster.runPod("maint", Map.of("app", "maint"), List.of(), 30);
        Instant since = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        MaintenanceStatus on = new MaintenanceStatus(true, "kernel upgrade", since, since.plus(Duration.ofHours(1)), "withdrawn");

        try (KubeIntegration first = KubeIntegration.using(config("label", "5s"), cluster.agentClient(), cluster.identity("maint"),
                new PrometheusRegistry())) {
            assertThat(first.startupState().persistedMaintenance()).isEmpty();
            first.maintenanceStore().save(on);
        }
        assertThat(cluster.pod("maint").getMetadata().getAnnotations().get("lameduck.io/maintenance"))
                .contains("\"reason\":\"kernel upgrade\"").contains("\"since\":\"" + since + "\"");

        try (KubeIntegration restarted = KubeIntegration.using(config("label", "5s"), cluster.agentClient(), cluster.identity("maint"),
                new PrometheusRegistry())) {
            assertThat(restarted.startupState().persistedMaintenance()).contains(on);
            restarted.maintenanceStore().save(new MaintenanceStatus(false, "done", Instant.now(), null, null));
            assertThat(restarted.startupState().persistedMaintenance()).isEmpty();
        }
        assertThat(cluster.pod("maint").getMetadata().getAnnotations())
                .doesNotContainKey("lameduck.io/maintenance");
    }

    @Test
    void drainAndMaintenanceEventsAreWrittenOnThePod() throws Exception {
        cluster.runPod("events", Map.of("app", "events"), List.of(), 30);
        Instant now = Instant.now();
        DrainReport report = new DrainReport("drain-1", Trigger.PRESTOP, null, DrainOutcome.DEADLINE_EXCEEDED, now, now.plusSeconds(9),
                now.plusSeconds(8), "pod deletionTimestamp", 9.0,
                List.of(new StepReport(StepName.WITHDRAW, Outcome.COMPLETED, 0.12, "label: confirmed after 0.120s", null)), null,
                List.of(new HookReport("app-drain", "http", 0, "quiet", Outcome.TIMED_OUT, 5.0, "no answer in 5s"),
                        new HookReport("flush", "exec", 1, "quiet", Outcome.FAILED, 0.2, "exit code 1")),
                // an ingress still sending on its pooled connection when the propagate step gave up
                // ... and a second watched port nothing listened on
                new TrafficReport(List.of(8080, 8081), null, 16.1, 0.12, 0, null, null, null, 480, 16.1, now.plusSeconds(16),
                        "10.244.0.9:51000", "reused", 0.0, 1.0, "the quiet period", false, List.of("10.244.0.9"), List.of(), null,
                        List.of(8081), 470, 0L));

        try (KubeIntegration kube = KubeIntegration.using(config("label", "5s"), cluster.agentClient(), cluster.identity("events"),
                new PrometheusRegistry())) {
            kube.events().drainStarted("drain-1", Trigger.PRESTOP, now.plusSeconds(8));
            kube.events().stepFinished("drain-1", report.steps().get(0));
            report.hooks().forEach(hook -> kube.events().hookFinished("drain-1", hook));
            kube.events().drainFinished(report);
            kube.maintenanceEvents().maintenanceChanged(new MaintenanceStatus(true, "kernel upgrade", now, null, "withdrawn"));
            kube.maintenanceEvents().maintenanceChanged(new MaintenanceStatus(false, "done", now, null, "restored"));
        } // close() flushes the queue

        List<Event> events = cluster.admin().v1().events().inNamespace(cluster.namespace()).withField("involvedObject.name", "events")
                .list().getItems();
        assertThat(events).extracting(Event::getType, Event::getReason, Event::getMessage).containsExactlyInAnyOrder(
                tuple("Normal", "DrainStarted", "drain drain-1 started by prestop; deadline " + now.plusSeconds(8)),
                tuple("Normal", "Withdrawn", "drain drain-1: label: confirmed after 0.120s"),
                tuple("Warning", "DrainHookTimedOut", "drain drain-1: hook app-drain (http) timed out after 5.00s: no answer in 5s"),
                tuple("Warning", "DrainHookFailed", "drain drain-1: hook flush (exec) failed after 0.20s: exit code 1"),
                tuple("Warning", "NothingListens", "drain drain-1: nothing listened on watched port(s) [8081] when the drain started, "
                        + "so it could not see the app's traffic there; set drain.propagation.ports (or the pod's lameduck.io/ports "
                        + "annotation) to the ports the app listens on"),
                tuple("Warning", "TrafficNotStopped", "drain drain-1: traffic to ports [8080, 8081] was still arriving when the propagate "
                        + "step ended, from 10.244.0.9; last request 15.98s after the withdrawal from 10.244.0.9:51000 on a reused connection"),
                tuple("Warning", "DrainDeadlineExceeded", report.summary()),
                tuple("Normal", "MaintenanceOn", "maintenance on: kernel upgrade; withdrawn"),
                tuple("Normal", "MaintenanceOff", "maintenance off: done; restored"));
        Pod pod = cluster.pod("events");
        assertThat(events).allSatisfy(e -> {
            assertThat(e.getInvolvedObject().getUid()).isEqualTo(pod.getMetadata().getUid());
            assertThat(e.getSource().getComponent()).isEqualTo("lameduck");
        });
        // The drain's last Event carries the report to the fleet collector, which reads it back as written.
        assertThat(events).filteredOn(e -> e.getMetadata().getLabels() != null
                && e.getMetadata().getLabels().containsKey(DrainReportEvent.REPORT_LABEL)).extracting(Event::getReason)
                .containsExactly("DrainDeadlineExceeded");
        Event last = events.stream().filter(e -> e.getReason().equals("DrainDeadlineExceeded")).findFirst().orElseThrow();
        assertThat(last.getMetadata().getLabels()).containsEntry(DrainReportEvent.REPORT_LABEL, DrainReportEvent.REPORT_KIND);
        Termination counted = TerminationParser.parse(last);
        assertThat(counted.workload()).isEqualTo(new WorkloadKey(cluster.namespace(), "Pod", "events")); // a bare pod
        assertThat(counted.pod()).isEqualTo("events");
        assertThat(counted.drainId()).isEqualTo("drain-1");
        assertThat(counted.trigger()).isEqualTo("prestop");
        assertThat(counted.outcome()).isEqualTo("deadline_exceeded");
        assertThat(counted.durationSeconds()).isEqualTo(9.0);
        assertThat(counted.withdrawalConfirmed()).isTrue();
        assertThat(counted.trafficStopped()).isFalse();
        assertThat(counted.trafficAfterWithdrawalSeconds()).isCloseTo(15.98, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(counted.arrivalsAfterWithdrawal()).isEqualTo(470);
    }

    @Test
    void aWholeDrainWithTheLabelStrategyConfirmsTheWithdrawalAndTellsTheCluster() throws Exception {
        Pod pod = cluster.servingPod("drain", labels("drain", true), 40);
        AgentConfig config = config("drain:\n  budget: 30s\n  propagationDelay: 100ms\n  withdraw:\n    strategy: label\n    timeout: 10s\n");
        ExecutorService hooks = Executors.newCachedThreadPool();
        try (KubeIntegration kube = KubeIntegration.using(config, cluster.agentClient(), cluster.identity("drain"), new PrometheusRegistry())) {
            Lifecycle lifecycle = new Lifecycle();
            lifecycle.moveTo(State.READY, "test");
            Drainer drainer = new Drainer(lifecycle, kube.withdrawal(), List.of(), config.drain().withdraw().timeout(),
                    Propagation.fixed(config.drain().propagationDelay()), hooks, TimeSource.SYSTEM);
            DrainCoordinator coordinator = new DrainCoordinator(drainer, kube.budgetSource(), config.drain().budget(), config.drain().safetyMargin(),
                    TimeSource.SYSTEM);
            coordinator.addListener(kube.events());

            DrainReport report = coordinator.trigger(Trigger.PRESTOP).get(20, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(DrainOutcome.COMPLETED);
            assertThat(report.deadlineSource()).isEqualTo("pod terminationGracePeriodSeconds 40.000s minus safety margin 2.000s");
            assertThat(report.steps()).extracting(StepReport::name, StepReport::outcome).containsExactly(
                    tuple(StepName.UNREADY, Outcome.COMPLETED), tuple(StepName.WITHDRAW, Outcome.COMPLETED),
                    tuple(StepName.PROPAGATE, Outcome.COMPLETED), tuple(StepName.HOOKS, Outcome.COMPLETED));
            assertThat(report.steps().get(1).detail()).contains("confirmed after");
            assertThat(report.withdrawal().warnings()).containsExactly("the pod is the last serving endpoint of Service drain: "
                    + "withdrawing it leaves it with none (drain.withdraw.lastServingEndpoint: withdraw)");
            assertThat(report.withdrawal().servingFalseSeenAfterSeconds()).isNotNull();
            assertThat(cluster.endpointReady("drain", pod)).isEmpty();
        } finally {
            hooks.shutdownNow();
        }
        assertThat(cluster.eventReasons("drain")) // the Service has no other pod: withdrawing this one is warned about
                .containsExactlyInAnyOrder("DrainStarted", "LastServingEndpoint", "Withdrawn", "DrainCompleted");
    }

    @Test
    void connectFindsTheApiThroughKubeconfigAndThePodThroughTheDownwardApiVariables() throws Exception {
        cluster.runPod("connect", Map.of("app", "connect"), List.of(), 30);
        Map<String, String> env = Map.of("KUBECONFIG", Path.of("target/kube/kubeconfig.yaml").toAbsolutePath().toString(),
                "POD_NAME", "connect", "POD_NAMESPACE", cluster.namespace(), "HOST_IP", TestKubelet.NODE_IP);

        Optional<KubeIntegration> kube = KubeIntegration.connect(config("kube:\n  mode: enabled\n"), env, new PrometheusRegistry());

        assertThat(kube).isPresent();
        try (KubeIntegration connected = kube.get()) {
            assertThat(connected.identity()).isEqualTo(new PodIdentity("connect", cluster.namespace(), Optional.of(TestKubelet.NODE_IP)));
            assertThat(connected.rbac()).as("connect leaves the checks that only inform for later").isNull();
            assertThat(connected.checkInBackground().get(20, java.util.concurrent.TimeUnit.SECONDS).complete())
                    .isTrue(); // the admin credentials of the test cluster
            assertThat(connected.checkInBackground()).as("once").isCompletedWithValue(connected.rbac());
            assertThat(connected.startupState().deleting()).isFalse();
        }
    }
}
