package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static io.lameduck.kube.KubeTestSupport.labels;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.Watch;
import io.lameduck.config.AgentConfig;
import io.lameduck.drain.Withdrawal;
import io.lameduck.time.Deadline;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Withdrawal strategies against a real kube-apiserver and the real EndpointSlice controller. */
@Tag("kube")
class KubeWithdrawalTest {
    private static final String GATE = "lameduck.io/serving";

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("withdraw");

    @Test
    void labelStrategyTakesThePodOutOfTheEndpointSliceAndPutsItBack() throws Exception {
        Pod pod = cluster.servingPod("label", labels("label", true), 30);
        PrometheusRegistry registry = new PrometheusRegistry();

        try (KubeIntegration kube = KubeIntegration.using(config("label", "10s"), cluster.agentClient(), cluster.identity("label"), registry)) {
            assertThat(kube.rbac().complete()).as("the chart's Role grants everything: %s", kube.rbac()).isTrue();
            Withdrawal.Result withdrawn = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(withdrawn.status()).as(withdrawn.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(withdrawn.detail()).startsWith("label: label lameduck.io/serving=false; confirmed after ")
                    .endsWith("the pod is absent or serving=false in every one of 1 EndpointSlice of Service label");
            assertThat(cluster.endpointReady("label", pod)).isEmpty();
            assertThat(cluster.pod("label").getMetadata().getLabels())
                    .containsEntry("lameduck.io/serving", "false");

            Withdrawal.Result restored = kube.withdrawal().restore();
            assertThat(restored.status()).as(restored.detail()).isEqualTo(Withdrawal.Status.UNVERIFIED);
            cluster.awaitEndpoint("label", pod, true);
            assertThat(KubeTestSupport.scrape(registry))
                    .contains("lameduck_withdrawal_duration_seconds_count{confirmed=\"true\",strategy=\"label\"} 1")
                    .contains("lameduck_kube_requests_total{code=\"200\",resource=\"pods\",verb=\"patch\"} 2");
        }
    }

    @Test
    void readinessGateStrategySetsTheConditionAndTheControllerMarksTheEndpointNotReady() throws Exception {
        Pod pod = cluster.runPod("gate", Map.of("app", "gate"), List.of(GATE), 30);
        cluster.service("gate", Map.of("app", "gate"));
        cluster.awaitEndpoint("gate", pod, false); // the gate is not True yet: the kubelet keeps it unready
        PrometheusRegistry registry = new PrometheusRegistry();

        try (KubeIntegration kube = KubeIntegration.using(config("readiness-gate", "10s"), cluster.agentClient(), cluster.identity("gate"),
                registry)) {
            assertThat(kube.withdrawal().restore().status()).isEqualTo(Withdrawal.Status.UNVERIFIED);
            cluster.awaitEndpoint("gate", pod, true);

            Withdrawal.Result withdrawn = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(withdrawn.status()).as(withdrawn.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(withdrawn.detail()).startsWith("readiness-gate: readiness gate lameduck.io/serving=False; confirmed after ");
            assertThat(cluster.endpointReady("gate", pod)).contains(false);
            assertThat(condition(cluster.pod("gate"), GATE))
                    .extracting(PodCondition::getStatus, PodCondition::getReason).containsExactly("False", "Withdrawn");

            kube.withdrawal().restore();
            cluster.awaitEndpoint("gate", pod, true);
            assertThat(KubeTestSupport.scrape(registry))
                    .contains("lameduck_withdrawal_duration_seconds_count{confirmed=\"true\",strategy=\"readiness-gate\"} 1");
        }
    }

    /**
     * The same agent withdraws, serves again and withdraws again (maintenance on and off, then the drain): every
     * withdrawal is confirmed and leaves the endpoint not ready. (What {@code WithdrawalLatencyBenchmarkTest} measures
     * 33 times, asserted here without the timing.)
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"label", "readiness-gate"})
    void aWithdrawalAfterServingAgainIsConfirmedAgain(String strategy) throws Exception {
        Map<String, String> selector = strategy.equals("label") ? labels("again", true) : Map.of("app", "again");
        Pod pod = cluster.runPod("again", selector, strategy.equals("label") ? List.of() : List.of(GATE), 30);
        cluster.service("again", selector);

        try (KubeIntegration kube = KubeIntegration.using(config(strategy, "10s"), cluster.agentClient(), cluster.identity("again"),
                new PrometheusRegistry())) {
            for (int cycle = 1; cycle <= 3; cycle++) {
                kube.withdrawal().restore();
                cluster.awaitEndpoint("again", pod, true);

                Withdrawal.Result withdrawn = kube.withdrawal().withdraw(Duration.ofSeconds(10));

                assertThat(withdrawn.status()).as("cycle %d: %s", cycle, withdrawn.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
                assertThat(cluster.endpointReady("again", pod).orElse(false)).as("cycle %d: endpoint ready", cycle).isFalse();
            }
        }
    }

    /** A drain that watches the app's port 8080 with the quiet mode; {@code waitForIngresses} as given. */
    private static AgentConfig quietDrain(boolean waitForIngresses) {
        return config("drain:\n  budget: 30s\n  withdraw: {strategy: label, timeout: 10s}\n"
                + "  propagation: {mode: quiet, ports: [8080], waitForIngresses: " + waitForIngresses + "}\n");
    }

    /** An Ingress {@code name} sending path /{@code service} to each of {@code services} (the first also as its default backend). */
    private void ingress(String name, String... services) {
        IngressBuilder ingress = new IngressBuilder().withNewMetadata().withName(name).endMetadata().withNewSpec()
                .withNewDefaultBackend().withNewService().withName(services[0]).withNewPort().withNumber(80).endPort().endService()
                .endDefaultBackend().endSpec();
        for (String service : services) {
            ingress.editSpec().addNewRule().withHost(service + ".example").withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                    .withNewBackend().withNewService().withName(service).withNewPort().withNumber(80).endPort().endService().endBackend()
                    .endPath().endHttp().endRule().endSpec();
        }
        cluster.admin().network().v1().ingresses().inNamespace(cluster.namespace()).resource(ingress.build()).create();
    }

    @Test
    void theIngressesRoutingToThePodsServicesAreFoundSoTheDrainWaitsForTheirControllers() throws Exception {
        Pod pod = cluster.servingPod("web", labels("web", true), 30);
        cluster.service("other", Map.of("app", "other"));
        ingress("front", "web", "other");
        ingress("api", "web");
        ingress("elsewhere", "other");
        PrometheusRegistry registry = new PrometheusRegistry();

        try (KubeIntegration kube = KubeIntegration.using(quietDrain(true), cluster.agentClient(), cluster.identity("web"), registry)) {
            assertThat(kube.rbac().complete()).as("the chart's Role grants the lookup: %s", kube.rbac()).isTrue();
            Withdrawal.Result withdrawn = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(withdrawn.status()).as(withdrawn.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(withdrawn.report().ingresses()).containsExactly("api -> web", "front -> web");
            assertThat(withdrawn.report().warnings()).noneMatch(w -> w.contains("Ingress"));
            assertThat(cluster.endpointReady("web", pod)).isEmpty();
            assertThat(KubeTestSupport.scrape(registry)).contains("lameduck_kube_requests_total{code=\"200\",resource=\"ingresses\",verb=\"list\"} 1");
        }
    }

    @Test
    void withoutWaitForIngressesNoIngressIsLookedUpAndNoneIsNeeded() throws Exception {
        cluster.servingPod("plain", labels("plain", true), 30);
        ingress("front", "plain");
        PrometheusRegistry registry = new PrometheusRegistry();

        try (KubeIntegration kube = KubeIntegration.using(quietDrain(false), cluster.agentClient(), cluster.identity("plain"), registry)) {
            assertThat(RbacCheck.required(quietDrain(false))).noneMatch(p -> p.resource().equals("ingresses"));
            Withdrawal.Result withdrawn = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(withdrawn.status()).as(withdrawn.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(withdrawn.report() == null ? List.of() : withdrawn.report().ingresses()).isEmpty();
            assertThat(KubeTestSupport.scrape(registry)).doesNotContain("resource=\"ingresses\"");
        }
    }

    @Test
    void aRoleWithoutTheIngressRuleWithdrawsAnywayAndTheReportSaysWhatIsLost() throws Exception {
        Pod pod = cluster.servingPod("norule", labels("norule", true), 30);
        ingress("front", "norule");
        String token = cluster.agentToken("noingress", rules -> rules.stream().filter(r -> !r.getResources().contains("ingresses")).toList());
        PrometheusRegistry registry = new PrometheusRegistry();

        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(cluster.clientConfig(cluster.adminConfig().getMasterUrl(), token)).build();
                KubeIntegration kube = KubeIntegration.using(quietDrain(true), client, cluster.identity("norule"), registry)) {
            assertThat(kube.rbac().missing()).containsExactly("list networking.k8s.io/ingresses");
            Withdrawal.Result withdrawn = kube.withdrawal().withdraw(Duration.ofSeconds(10));

            assertThat(withdrawn.status()).as(withdrawn.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(cluster.endpointReady("norule", pod)).isEmpty();
            assertThat(withdrawn.report().ingresses()).isEmpty();
            assertThat(withdrawn.report().warnings()).filteredOn(w -> w.contains("Ingress")).singleElement().asString()
                    .startsWith("cannot tell which Ingresses route to the pod: list ingresses is forbidden for the agent's service account (HTTP 403)")
                    .contains("grant it with the Role in helm/lameduck/files/role-rules.yaml")
                    .contains("requests on open connections count only drain.propagation.keepAliveWait");
            assertThat(KubeTestSupport.scrape(registry)).contains("lameduck_kube_requests_total{code=\"403\",resource=\"ingresses\",verb=\"list\"} 1");
        }
    }

    @Test
    void anIngressLookupTheApiDoesNotAnswerIsCutAtItsLimitAndTheWithdrawalIsStillConfirmed() throws Exception {
        Pod pod = cluster.servingPod("stall", labels("stall", true), 30);
        ingress("front", "stall");
        PrometheusRegistry registry = new PrometheusRegistry();
        try (FaultInjectingApiProxy proxy = new FaultInjectingApiProxy(cluster.adminConfig());
                KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
                        .withMasterUrl(proxy.url()).withOauthToken(cluster.agentToken("stall", rules -> rules)).build()).build();
                KubeIntegration kube = KubeIntegration.using(quietDrain(true), client, cluster.identity("stall"), registry)) {
            proxy.rule((method, path, query) -> path.endsWith("/ingresses") ? new FaultInjectingApiProxy.Fault.Delay(Duration.ofSeconds(20))
                    : FaultInjectingApiProxy.Fault.FORWARD);
            long start = System.nanoTime();
            Withdrawal.Result withdrawn = kube.withdrawal().withdraw(Duration.ofSeconds(10));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(withdrawn.status()).as(withdrawn.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(cluster.endpointReady("stall", pod)).isEmpty();
            assertThat(withdrawn.report().ingresses()).isEmpty();
            assertThat(withdrawn.report().warnings()).filteredOn(w -> w.contains("Ingress")).singleElement().asString()
                    .startsWith("cannot tell which Ingresses route to the pod: list ingresses: the API did not answer within 2000ms");
            // The lookup's 2 s, then the confirmation; far from the 20 s the API would have taken.
            assertThat(took).isLessThan(VerifiedWithdrawal.INGRESS_LOOKUP_LIMIT.plusSeconds(5));
        }
    }

    @Test
    void pastItsListLimitTheLookupSaysWhatItDidNotLookAt() throws Exception {
        cluster.service("web", Map.of("app", "web"));
        ingress("a", "web");
        ingress("b", "other");
        ingress("c", "web");
        try (ApiCalls api = ApiCalls.uncounted()) {
            IngressRoutes routes = new IngressRoutes(cluster.agentClient(), cluster.namespace(), api, 2);

            IngressRoutes.Found found = routes.routingTo(List.of("web"), Duration.ofSeconds(5));

            assertThat(found.routes()).containsExactly("a -> web"); // the API lists by name: a, b; c is past the limit
            assertThat(found.note()).contains("more than 2 Ingresses in namespace " + cluster.namespace() + ": only the first 2 were looked at");
            assertThat(new IngressRoutes(cluster.agentClient(), cluster.namespace(), api, 3).routingTo(List.of("web"), Duration.ofSeconds(5)))
                    .isEqualTo(new IngressRoutes.Found(List.of("a -> web", "c -> web"), Optional.empty()));
        }
    }

    @Test
    void readinessGateStrategyDegradesWhenThePodHasNoReadinessGate() throws Exception {
        Pod pod = cluster.runPod("nogate", Map.of("app", "nogate"), List.of(), 30);
        try (KubeIntegration kube = KubeIntegration.using(config("readiness-gate", "5s"), cluster.agentClient(), cluster.identity("nogate"),
                new PrometheusRegistry())) {
            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(5));

            assertThat(result.status()).isEqualTo(Withdrawal.Status.DEGRADED);
            assertThat(result.detail()).contains("pod spec.readinessGates has no conditionType lameduck.io/serving")
                    .contains("fell back to probe");
            assertThat(condition(cluster.pod(pod.getMetadata().getName()), GATE)).isNull();
        }
    }

    @Test
    void probeStrategyWaitsForTheKubeletsReadinessProbeToTakeThePodOut() throws Exception {
        Pod pod = cluster.servingPod("probe", Map.of("app", "probe"), 30);
        try (KubeIntegration kube = KubeIntegration.using(config("probe", "10s"), cluster.agentClient(), cluster.identity("probe"),
                new PrometheusRegistry())) {
            CompletableFuture<Withdrawal.Result> withdrawal = CompletableFuture.supplyAsync(() -> withdraw(kube, Duration.ofSeconds(10)));
            cluster.containersReady("probe", false); // the readiness probe fails: /readyz answers 503

            Withdrawal.Result result = withdrawal.get(15, TimeUnit.SECONDS);
            assertThat(result.status()).as(result.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
            assertThat(result.detail()).startsWith("probe: /readyz answers 503; confirmed after ");
        }
    }

    @Test
    void verificationTimesOutWhenTheEndpointStaysReady() throws Exception {
        Pod pod = cluster.servingPod("stuck", Map.of("app", "stuck"), 30);
        try (KubeIntegration kube = KubeIntegration.using(config("probe", "1s"), cluster.agentClient(), cluster.identity("stuck"),
                new PrometheusRegistry())) {
            long start = System.nanoTime();
            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(1));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(result.status()).isEqualTo(Withdrawal.Status.TIMED_OUT);
            assertThat(result.detail()).contains("not confirmed within").contains("the pod is still serving in 1 of 1 EndpointSlice of Service stuck");
            assertThat(took).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(3)); // upper bound loose for a loaded CI machine
        }
    }

    @Test
    void aDroppedWatchIsReplacedByAFreshListAndTheVerificationStillConfirms() throws Exception {
        Pod pod = cluster.servingPod("drop", Map.of("app", "drop"), 30);
        try (ApiCalls api = ApiCalls.uncounted()) {
            EndpointVerifier verifier = new EndpointVerifier(cluster.agentClient(), cluster.namespace(), api);
            AtomicInteger watches = new AtomicInteger();
            CountDownLatch secondWatch = new CountDownLatch(1);
            verifier.onWatchOpened((Watch watch) -> {
                if (watches.incrementAndGet() == 1) {
                    watch.close(); // the connection drops under the verifier
                } else {
                    secondWatch.countDown();
                }
            });
            CompletableFuture<EndpointVerifier.Verification> seen = CompletableFuture.supplyAsync(() -> {
                try {
                    return verifier.awaitWithdrawn(pod, List.of("drop"), Deadline.after(Duration.ofSeconds(10)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(secondWatch.await(5, TimeUnit.SECONDS)).as("a second watch after a re-list").isTrue();
            cluster.containersReady("drop", false);

            EndpointVerifier.Verification verification = seen.get(15, TimeUnit.SECONDS);
            assertThat(verification.confirmed()).isTrue();
            assertThat(verification.relists()).isEqualTo(1);
            assertThat(verification.describe()).endsWith("(re-listed 1x after the watch dropped)");
        }
    }

    @Test
    void aConflictingChangeBetweenReadAndPatchIsRetriedFromAFreshRead() throws Exception {
        cluster.runPod("conflict", Map.of("app", "conflict"), List.of(), 30);
        PrometheusRegistry registry = new PrometheusRegistry();
        try (ApiCalls api = new ApiCalls(new KubeMetrics(registry))) {
            OwnPod own = new OwnPod(cluster.agentClient(), cluster.identity("conflict"), api);
            AtomicInteger reads = new AtomicInteger();

            Pod patched = own.patch(OwnPod.PODS, current -> {
                if (reads.incrementAndGet() == 1) { // someone else edits the pod after our read
                    cluster.admin().pods().inNamespace(cluster.namespace()).withName("conflict")
                            .edit(p -> { p.getMetadata().getAnnotations().put("other", "edit"); return p; });
                }
                return Optional.of(Patches.label(current, "lameduck.io/serving", "false"));
            }, Deadline.after(Duration.ofSeconds(5)));

            assertThat(reads).hasValue(2);
            assertThat(patched.getMetadata().getLabels()).containsEntry("lameduck.io/serving", "false");
            assertThat(patched.getMetadata().getAnnotations()).containsEntry("other", "edit");
            assertThat(KubeTestSupport.scrape(registry))
                    .contains("lameduck_kube_requests_total{code=\"409\",resource=\"pods\",verb=\"patch\"} 1")
                    .contains("lameduck_kube_requests_total{code=\"200\",resource=\"pods\",verb=\"patch\"} 1");
        }
    }

    private static Withdrawal.Result withdraw(KubeIntegration kube, Duration timeout) {
        try {
            return kube.withdrawal().withdraw(timeout);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static PodCondition condition(Pod pod, String type) {
        return pod.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }
}
