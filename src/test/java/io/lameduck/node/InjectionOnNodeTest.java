package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.ConfigException;
import io.lameduck.config.ConfigLoader;
import io.lameduck.inject.KubeAgentRoleBinder;
import io.lameduck.testsupport.TestCertificates;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Zero-touch adoption on the real node: the chart installs the injection webhook; a namespace gets one label; an
 * ordinary Deployment that knows nothing of Lameduck comes up with the sidecar (Ready only because the agent set its
 * readiness gate) and rolls under load with no failed request. With the injector down, deployments still work
 * (uninjected) and the API server counts the failure. {@code helm test} passes for this install mode. The lifecycle
 * around it: a renewed certificate is served with no restart and trusted; {@code helm upgrade} keeps the injector's
 * RoleBindings (and adopts an older owner-less one), injects the upgraded setting and leaves running pods working;
 * {@code helm uninstall} lets the garbage collector remove every RoleBinding.
 */
@Tag("node")
@ExtendWith(NodeCluster.class)
class InjectionOnNodeTest {
    private static final String SYSTEM = "lameduck-system";
    private static final String INJECTOR = "lameduck-injector";
    private static final String APP = "injected";
    /** A labelled namespace whose RoleBinding an older injector made, without an owner. */
    private static final String OLDER = "injected-older";
    /** The chart's default is 2s: the upgrade changes it, and pods injected afterwards must carry it. */
    private static final Duration UPGRADED_SAFETY_MARGIN = Duration.ofSeconds(3);
    /**
     * How long the renewed certificate may take to be served: the kubelet refreshes a Secret volume when it syncs the
     * pod, every syncFrequency (the test kubelet keeps the default, 1 min) plus up to half of it as jitter; the injector
     * then notices within its 10 s check.
     */
    private static final Duration RENEWAL_SERVED_WITHIN = Duration.ofMinutes(3);
    private static final Map<String, String> LABELS = Map.of("app", "web");

    @Test
    void anOrdinaryDeploymentInALabelledNamespaceIsInjectedAndRollsWithoutDrops(NodeCluster node, @TempDir Path dir) throws Exception {
        String agent = node.image("agent");
        node.kubectl(Duration.ofSeconds(30), "create", "namespace", SYSTEM).run();
        node.helm(Duration.ofMinutes(4), "install", "lameduck", "helm/lameduck", "--namespace", SYSTEM,
                "--set", "image.repository=" + agent.substring(0, agent.lastIndexOf(':')),
                "--set-string", "image.tag=" + agent.substring(agent.lastIndexOf(':') + 1),
                "--set", "image.pullPolicy=Never", "--set", "injector.enabled=true", "--set", "injector.replicas=1",
                // One replica: its PDB (minAvailable 1) would block every node drain, which the chart's schema refuses.
                "--set", "injector.podDisruptionBudget.enabled=false",
                "--wait", "--timeout", "3m").ok();
        node.admin().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(APP)
                .addToLabels("lameduck.io/inject", "enabled").endMetadata().build()).create();
        try {
            // failurePolicy Ignore: a pod created before the injector answers is admitted uninjected. helm --wait
            // only knows the injector's pod is Ready, not that the API server reaches its webhook yet; so wait until a
            // server-side dry run of a pod comes back injected.
            Awaitility.await("the webhook injects").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(500))
                    .until(() -> injectsADryRunPod(node));
            createApp(node, node.image("demo"));
            Awaitility.await("injected pods Ready").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> assertThat(pods(node)).hasSize(2).allMatch(p -> ExampleRelease.condition(p, "Ready")));
            Pod pod = pods(node).get(0);
            assertThat(pod.getSpec().getContainers()).extracting(Container::getName).containsExactly("app", "lameduck");
            assertThat(pod.getMetadata().getAnnotations()).containsKey("lameduck.io/injected");
            assertThat(pod.getSpec().getContainers().get(0).getLifecycle().getPreStop().getHttpGet().getPath()).isEqualTo("/prestop");
            assertThat(ExampleRelease.condition(pod, "lameduck.io/serving")).as("the agent set its readiness gate").isTrue();

            // The certificate is renewed now, so the kubelet's refresh of the Secret volume (up to 1.5 min) overlaps the rollout
            // below, whose new pods the injector admits across the swap.
            CertificateRenewal renewal = renewCertificate(node, dir);

            String url = "http://" + node.admin().services().inNamespace(APP).withName("web").get().getSpec().getClusterIP() + ":8080/";
            // The Service is new: kube-proxy routes it only after its next sync. Seen twice in CI (8 and 15 of 1800 refused, all
            // refused, none reset): a load started within that second, its first requests rejected by kube-proxy's
            // no-endpoints rule, as no termination was under way yet. Load.start waits until the Service answers.
            // What kube-proxy was told and when: a refused connection is explained by it and by who refused it (Load).
            EndpointTimeline endpoints = EndpointTimeline.follow(node.admin(), APP, "web");
            Instant loadStarted = Instant.now();
            var load = Load.start(node, url, 40, Duration.ofSeconds(45), true);
            // The old pods' agents, followed before they go: a drop is explained by their drain reports.
            List<ContainerLog> agents = pods(node).stream().map(p -> ContainerLog.follow(node.admin(), APP,
                    p.getMetadata().getName(), "lameduck")).toList();
            Thread.sleep(Duration.ofSeconds(3).toMillis());
            node.kubectl(Duration.ofSeconds(30), "rollout", "restart", "deployment/web", "-n", APP).ok();
            node.kubectl(Duration.ofMinutes(2), "rollout", "status", "deployment/web", "-n", APP, "--timeout=100s").ok();
            Load.Result result = load.get();
            NodeCluster.log("injected Deployment rolled under load: " + result);
            agents.forEach(log -> NodeCluster.log("injected agent drained under load: " + log.drainSummary()));
            agents.forEach(ContainerLog::close);
            endpoints.close();
            NodeCluster.log("the Service's endpoints during the rollout (R ready, S serving, T terminating):\n  " + endpoints);
            if (result.failed() > 0) {
                // kube-proxy's syncs (a "no hints were provided" line means it saw no ready endpoint for that Service), and the
                // kubelet's failed probes (a pod not Ready drops out of the endpoints).
                NodeCluster.log("kube-proxy during the load:\n  "
                        + String.join("\n  ", node.componentLog("kube-proxy", loadStarted, Instant.now())));
                NodeCluster.log("kubelet's failed probes during the load:\n  " + String.join("\n  ", node.componentLog("kubelet",
                        loadStarted, Instant.now()).stream().filter(l -> l.contains("Probe failed")).toList()));
            }
            assertThat(result.failed()).as("rollout of the injected Deployment: " + result).isZero();
            assertThat(pods(node)).as("injected across the certificate's swap").allSatisfy(p -> assertThat(p.getSpec().getContainers())
                    .extracting(Container::getName).containsExactly("app", "lameduck"));

            renewedCertificateIsServedWithoutARestart(node, renewal);
            ExistingInjection before = upgradeWithAnotherSafetyMargin(node);

            // A pod that turns the automounted token off: the sidecar alone gets a projected one, and sets its gate with
            // it; the ports it watches are the one the pod declares (8081), not the chart's 8080. Created after the upgrade,
            // it carries the upgraded setting, and its agent's rights come from the RoleBinding the upgrade kept.
            Pod noToken = node.admin().pods().inNamespace(APP).resource(new PodBuilder().withNewMetadata().withName("no-token")
                    .addToLabels("app", "no-token").endMetadata().withNewSpec().withAutomountServiceAccountToken(false)
                    .addNewContainer().withName("app").withImage(node.image("demo")).withImagePullPolicy("Never").withArgs("-listen", ":8081")
                    .addNewPort().withName("http").withContainerPort(8081).endPort().endContainer().endSpec().build()).create();
            assertThat(noToken.getSpec().getContainers()).extracting(Container::getName).containsExactly("app", "lameduck");
            AgentConfig.Drain noTokenDrain = new ConfigLoader(Map.of()).parse(noToken.getMetadata().getAnnotations()
                    .get("lameduck.io/config")).drain();
            assertThat(noTokenDrain.propagation().ports()).containsExactly(8081);
            assertThat(noTokenDrain.safetyMargin()).as("the upgraded setting").isEqualTo(UPGRADED_SAFETY_MARGIN);
            Awaitility.await("the pod without an automounted token Ready, its gate set by the agent").atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                        Pod current = node.admin().pods().inNamespace(APP).withName("no-token").get();
                        assertThat(ExampleRelease.condition(current, "lameduck.io/serving")).isTrue();
                        assertThat(ExampleRelease.condition(current, "Ready")).isTrue();
                    });

            // helm test of this install: the agents' own RBAC check, run as their ServiceAccount with the chart's config, and a
            // pod dry-run created in a namespace the test labels for injection comes back injected; the test's objects go.
            String tested = node.helm(Duration.ofMinutes(3), "test", "lameduck", "--namespace", SYSTEM, "--logs", "--timeout", "150s").ok();
            assertThat(tested).contains("RBAC works").contains("injection works");
            Awaitility.await("helm test's namespace removed").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(500))
                    .until(() -> node.admin().namespaces().withName("lameduck-test-injection").get() == null);

            // The injector down: pods are still created (failurePolicy Ignore), uninjected, and the failure is counted. The
            // pods this rollout replaces were injected before the upgrade: their agents still withdraw through the API.
            List<ContainerLog> injectedBeforeUpgrade = before.pods().stream().map(p -> ContainerLog.follow(node.admin(), APP,
                    p.getMetadata().getName(), "lameduck")).toList();
            node.kubectl(Duration.ofSeconds(30), "scale", "deployment/" + INJECTOR, "-n", SYSTEM, "--replicas=0").ok();
            Awaitility.await("injector gone").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> node.admin().pods().inNamespace(SYSTEM).list().getItems().isEmpty());
            node.kubectl(Duration.ofSeconds(30), "rollout", "restart", "deployment/web", "-n", APP).ok();
            node.kubectl(Duration.ofMinutes(2), "rollout", "status", "deployment/web", "-n", APP, "--timeout=100s").ok();
            assertThat(pods(node)).isNotEmpty().allSatisfy(p -> assertThat(p.getSpec().getContainers())
                    .extracting(Container::getName).containsExactly("app"));
            for (ContainerLog upgraded : injectedBeforeUpgrade) {
                JsonNode report = Awaitility.await("the drain report of " + upgraded.text()).atMost(Duration.ofMinutes(1))
                        .pollInterval(Duration.ofMillis(500)).until(() -> DrainReports.first(upgraded), Optional::isPresent).orElseThrow();
                assertThat(DrainReports.step(report, "withdraw").path("outcome").asText())
                        .as("an agent injected before the upgrade withdraws with the RBAC the upgrade kept: " + report).isEqualTo("completed");
                upgraded.close();
            }
            String metrics = node.kubectl(Duration.ofSeconds(30), "get", "--raw", "/metrics").ok();
            assertThat(metrics.lines().filter(l -> l.startsWith("apiserver_admission_webhook_fail_open_count")))
                    .as("the API server counts the injector's outage").isNotEmpty();

            // Uninstalling leaves nothing behind: the RoleBindings the injector made (here, and the older one it adopted) are
            // owned by the agent ClusterRole, which helm deletes, so the garbage collector removes them while the namespaces stay.
            for (String namespace : List.of(APP, OLDER)) {
                assertThat(agentBinding(node, namespace).getMetadata().getOwnerReferences()).as(namespace)
                        .extracting(o -> o.getKind() + "/" + o.getName() + "/" + o.getUid()).containsExactly(before.owner());
            }
            node.helm(Duration.ofMinutes(2), "uninstall", "lameduck", "--namespace", SYSTEM, "--wait").ok();
            Awaitility.await("the injector's RoleBindings collected after helm uninstall").atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> agentBinding(node, APP) == null && agentBinding(node, OLDER) == null);
        } finally {
            node.kubectl(Duration.ofMinutes(2), "delete", "namespace", APP, OLDER, "--ignore-not-found", "--wait=false").run();
            node.helm(Duration.ofMinutes(2), "uninstall", "lameduck", "--namespace", SYSTEM).run();
        }
    }

    /**
     * Renews the injector's certificate under a new CA, as cert-manager's cainjector publishes a CA but with an overlap (a
     * new CA's certificate is served only once the kubelet has refreshed the Secret volume, minutes after the Secret
     * changed): the webhook's caBundle trusts the old and the new CA, then the Secret gets the new pair.
     */
    private static CertificateRenewal renewCertificate(NodeCluster node, Path dir) {
        String dns = INJECTOR + "." + SYSTEM;
        TestCertificates renewed = TestCertificates.issue(dir, "lameduck-injector-renewed-ca",
                "DNS:" + dns + ".svc,DNS:" + dns + ",DNS:" + INJECTOR);
        var secret = node.admin().secrets().inNamespace(SYSTEM).withName(INJECTOR + "-tls");
        String previousCa = new String(Base64.getDecoder().decode(secret.get().getData().get("ca.crt")), StandardCharsets.US_ASCII);
        setCaBundle(node, previousCa + renewed.caPem());
        secret.edit(s -> new SecretBuilder(s).addToData("tls.crt", base64(renewed.certPem())).addToData("tls.key", base64(renewed.keyPem()))
                .addToData("ca.crt", base64(renewed.caPem())).build());
        return new CertificateRenewal(renewed, injectorPods(node).get(0).getMetadata().getName(), System.nanoTime(), Instant.now());
    }

    /**
     * The renewed pair and when its Secret changed: {@code since} on the monotonic clock for the bound, {@code at} on the
     * wall clock to compare with the injector's log.
     */
    private record CertificateRenewal(TestCertificates renewed, String injectorPod, long since, Instant at) {}

    /**
     * The injector serves the renewed certificate without a restart once the kubelet has refreshed the Secret volume
     * (counted once, never as a failed reload: the kubelet swaps both files at once); then the webhook trusts the new CA
     * alone and the API server still gets pods injected.
     */
    private static void renewedCertificateIsServedWithoutARestart(NodeCluster node, CertificateRenewal renewal) throws Exception {
        X509Certificate expected = certificate(renewal.renewed().certPem());
        Duration left = RENEWAL_SERVED_WITHIN.minusNanos(System.nanoTime() - renewal.since());
        Awaitility.await("the injector serves the renewed certificate").atMost(left.isNegative() ? Duration.ZERO : left)
                .pollInterval(Duration.ofSeconds(1)).until(() -> servedCertificate(node).filter(expected::equals).isPresent());
        String log = node.kubectl(Duration.ofSeconds(30), "logs", "--timestamps", "-n", SYSTEM, renewal.injectorPod()).ok();
        String reloaded = log.lines().filter(l -> l.contains("reloaded the serving certificate")).findFirst()
                .orElseThrow(() -> new AssertionError("the injector served the renewed certificate but logged no reload:\n" + log));
        NodeCluster.log("the injector reloaded the renewed certificate " + Duration.between(renewal.at(),
                Instant.parse(reloaded.substring(0, reloaded.indexOf(' ')))).toMillis() + " ms after its Secret changed (the kubelet "
                + "refreshes a Secret volume at its pod sync, every 1 min plus jitter; the injector checks every 10 s)");
        Pod injector = node.admin().pods().inNamespace(SYSTEM).withName(renewal.injectorPod()).get();
        assertThat(injector.getStatus().getContainerStatuses()).as("reloaded, not restarted").allMatch(c -> c.getRestartCount() == 0);
        String metrics = node.kubectl(Duration.ofSeconds(30), "get", "--raw",
                "/api/v1/namespaces/" + SYSTEM + "/services/http:" + INJECTOR + ":metrics/proxy/metrics").ok();
        assertThat(sample(metrics, "lameduck_injector_certificate_reloads_total{outcome=\"reloaded\"}")).isEqualTo(1.0);
        assertThat(sample(metrics, "lameduck_injector_certificate_reloads_total{outcome=\"failed\"}")).isEqualTo(0.0);

        setCaBundle(node, renewal.renewed().caPem());
        Awaitility.await("the webhook injects, trusting the renewed CA alone").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500)).until(() -> injectsADryRunPod(node));
    }

    /**
     * {@code helm upgrade} with another safety margin, as an SRE upgrades (--reuse-values). Before it, a labelled namespace
     * gets a RoleBinding the way an older injector made it, without an owner. After it: the injector (rolled by the
     * template's checksum) injects the new setting; the RoleBinding it made keeps its identity and owner, the ClusterRole
     * its UID; the pods injected earlier run on, unrestarted; and the next pod injected in the older namespace gives that
     * RoleBinding its owner (docs/install.md, "Upgrade and uninstall").
     */
    private static ExistingInjection upgradeWithAnotherSafetyMargin(NodeCluster node) throws InterruptedException {
        RoleBinding binding = agentBinding(node, APP);
        ClusterRole agentRole = node.admin().rbac().clusterRoles().withName(binding.getRoleRef().getName()).get();
        String owner = "ClusterRole/" + agentRole.getMetadata().getName() + "/" + agentRole.getMetadata().getUid();
        assertThat(binding.getMetadata().getOwnerReferences()).extracting(o -> o.getKind() + "/" + o.getName() + "/" + o.getUid())
                .containsExactly(owner);
        List<Pod> injected = pods(node);
        String previousInjector = injectorPods(node).get(0).getMetadata().getName();
        node.admin().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(OLDER)
                .addToLabels("lameduck.io/inject", "enabled").endMetadata().build()).create();
        node.admin().rbac().roleBindings().inNamespace(OLDER).resource(new RoleBindingBuilder().withNewMetadata()
                .withName(KubeAgentRoleBinder.NAME).addToLabels("app.kubernetes.io/managed-by", "lameduck-injector").endMetadata()
                .withRoleRef(binding.getRoleRef()).addNewSubject().withKind("ServiceAccount").withName("default").withNamespace(OLDER)
                .endSubject().build()).create();

        long started = System.nanoTime();
        Instant upgradeStarted = Instant.now();
        // Pods created while the injector rolls (failurePolicy Ignore: one the API server cannot get answered comes up
        // uninjected): a dry run every 200 ms from the upgrade until the previous injector is gone. None may miss the
        // sidecar: the previous injector answers for its shutdown delay after SIGTERM (1 of 13 missed it without).
        AtomicInteger created = new AtomicInteger();
        AtomicInteger uninjected = new AtomicInteger();
        ScheduledExecutorService creating = Executors.newSingleThreadScheduledExecutor();
        creating.scheduleWithFixedDelay(() -> {
            created.incrementAndGet();
            try {
                if (!injectsADryRunPod(node)) {
                    uninjected.incrementAndGet();
                }
            } catch (RuntimeException e) {
                // The dry run in flight when shutdownNow() interrupts it at the end fails too (fabric8: "An error has
                // occurred"); its cause tells that from a real failure.
                NodeCluster.log("a dry run during the upgrade failed: " + e + (e.getCause() == null ? "" : ", caused by " + e.getCause()));
            }
        }, 0, 200, TimeUnit.MILLISECONDS);
        try {
            node.helm(Duration.ofMinutes(4), "upgrade", "lameduck", "helm/lameduck", "--namespace", SYSTEM, "--reuse-values",
                    "--set", "config.drain.safetyMargin=" + UPGRADED_SAFETY_MARGIN.toSeconds() + "s", "--wait", "--timeout", "3m").ok();
            // Until the previous injector pod is gone, a pod may still reach it and get the previous setting.
            Awaitility.await("only the upgraded injector left, injecting the upgraded setting").atMost(Duration.ofMinutes(1))
                    .pollInterval(Duration.ofMillis(500)).until(() -> injectorPods(node).size() == 1
                            && dryRunSafetyMargin(node).filter(UPGRADED_SAFETY_MARGIN::equals).isPresent());
        } finally {
            creating.shutdownNow();
        }
        assertThat(creating.awaitTermination(30, TimeUnit.SECONDS)).as("the dry runs during the upgrade stopped").isTrue();
        NodeCluster.log("upgraded; the upgraded injector alone injects after " + Duration.ofNanos(System.nanoTime() - started).toSeconds()
                + " s; pods dry-run created meanwhile: " + created + ", admitted uninjected: " + uninjected);
        if (uninjected.get() > 0) {
            NodeCluster.log("why, as the API server says:\n  " + String.join("\n  ", node.componentLog("kube-apiserver", upgradeStarted,
                    Instant.now()).stream().filter(l -> l.contains("inject.lameduck.io")).toList()));
        }
        assertThat(uninjected.get()).as("pods admitted without the sidecar while the injector rolled, of %s", created).isZero();
        assertThat(created.get()).as("dry runs while the injector rolled").isPositive();
        assertThat(injectorPods(node)).extracting(p -> p.getMetadata().getName()).as("the injector rolled by its template's checksum")
                .doesNotContain(previousInjector);

        RoleBinding kept = agentBinding(node, APP);
        assertThat(kept.getMetadata().getUid()).as("the RoleBinding outlives the upgrade").isEqualTo(binding.getMetadata().getUid());
        assertThat(kept.getMetadata().getOwnerReferences()).extracting(o -> o.getKind() + "/" + o.getName() + "/" + o.getUid())
                .as("still owned by the agent ClusterRole, whose UID the upgrade kept").containsExactly(owner);
        assertThat(pods(node)).as("the pods injected before the upgrade run on").extracting(p -> p.getMetadata().getUid())
                .containsExactlyInAnyOrderElementsOf(injected.stream().map(p -> p.getMetadata().getUid()).toList());
        assertThat(pods(node)).allSatisfy(p -> {
            assertThat(ExampleRelease.condition(p, "Ready")).as(p.getMetadata().getName() + " Ready").isTrue();
            assertThat(p.getStatus().getContainerStatuses()).allMatch(c -> c.getRestartCount() == 0);
        });

        // A pod injected in the older namespace: the injector adds the owner. It need not run, so it goes at once.
        node.admin().pods().inNamespace(OLDER).resource(new PodBuilder().withNewMetadata().withName("adopts").endMetadata()
                .withNewSpec().addNewContainer().withName("app").withImage(node.image("demo")).withImagePullPolicy("Never")
                .endContainer().endSpec().build()).create();
        node.admin().pods().inNamespace(OLDER).withName("adopts").withGracePeriod(0).delete();
        assertThat(agentBinding(node, OLDER).getMetadata().getOwnerReferences())
                .extracting(o -> o.getKind() + "/" + o.getName() + "/" + o.getUid()).as("the older RoleBinding adopted").containsExactly(owner);
        return new ExistingInjection(injected, owner);
    }

    /** The pods injected before the upgrade, and the agent ClusterRole as "kind/name/uid": the RoleBindings' owner. */
    private record ExistingInjection(List<Pod> pods, String owner) {}

    private static RoleBinding agentBinding(NodeCluster node, String namespace) {
        return node.admin().rbac().roleBindings().inNamespace(namespace).withName(KubeAgentRoleBinder.NAME).get();
    }

    private static List<Pod> injectorPods(NodeCluster node) {
        return node.admin().pods().inNamespace(SYSTEM).withLabel("app.kubernetes.io/component", "injector").list().getItems();
    }

    private static void setCaBundle(NodeCluster node, String pem) {
        node.admin().admissionRegistration().v1().mutatingWebhookConfigurations().withName(INJECTOR).edit(config -> {
            config.getWebhooks().forEach(webhook -> webhook.getClientConfig().setCaBundle(base64(pem)));
            return config;
        });
    }

    /** The certificate a new TLS handshake through the injector's Service gets, from the node; empty while none answers. */
    private static Optional<X509Certificate> servedCertificate(NodeCluster node) throws Exception {
        String ip = node.admin().services().inNamespace(SYSTEM).withName(INJECTOR).get().getSpec().getClusterIP();
        Command.Result handshake = node.inNode(Duration.ofSeconds(30), "bash", "-c", "timeout 10 openssl s_client -connect " + ip
                + ":443 -servername " + INJECTOR + "." + SYSTEM + ".svc < /dev/null 2> /dev/null | openssl x509 2> /dev/null").run();
        int begin = handshake.output().indexOf("-----BEGIN CERTIFICATE-----");
        return handshake.exitCode() != 0 || begin < 0 ? Optional.empty() : Optional.of(certificate(handshake.output().substring(begin)));
    }

    private static X509Certificate certificate(String pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    }

    /** The value of one series in Prometheus text; fails naming the series when it is missing. */
    private static double sample(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length()).strip()))
                .findFirst().orElseThrow(() -> new AssertionError(series + " is not among the injector's metrics:\n" + metrics));
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
    }

    private static boolean injectsADryRunPod(NodeCluster node) {
        Map<String, String> annotations = dryRunPod(node).getMetadata().getAnnotations();
        return annotations != null && annotations.containsKey("lameduck.io/injected");
    }

    /** The safety margin in the config the injector gives a dry-run pod; empty when it was not injected. */
    private static Optional<Duration> dryRunSafetyMargin(NodeCluster node) throws ConfigException {
        Map<String, String> annotations = dryRunPod(node).getMetadata().getAnnotations();
        String config = annotations == null ? null : annotations.get("lameduck.io/config");
        return config == null ? Optional.empty() : Optional.of(new ConfigLoader(Map.of()).parse(config).drain().safetyMargin());
    }

    /** A pod as the API server would admit it here, webhooks included, created server-side as a dry run (nothing stays). */
    private static Pod dryRunPod(NodeCluster node) {
        return node.admin().pods().inNamespace(APP).resource(new PodBuilder().withNewMetadata()
                .withName("webhook-probe").endMetadata().withNewSpec().addNewContainer().withName("app")
                .withImage(node.image("demo")).endContainer().endSpec().build()).dryRun().create();
    }

    private static List<Pod> pods(NodeCluster node) {
        return node.admin().pods().inNamespace(APP).withLabels(LABELS).list().getItems().stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    }

    /** An ordinary Deployment + Service of the demo app: no sidecar, no preStop, nothing of Lameduck's. */
    private static void createApp(NodeCluster node, String image) {
        node.admin().apps().deployments().inNamespace(APP).resource(new DeploymentBuilder()
                .withNewMetadata().withName("web").endMetadata()
                .withNewSpec().withReplicas(2).withNewSelector().withMatchLabels(LABELS).endSelector()
                .withNewStrategy().withType("RollingUpdate").withNewRollingUpdate()
                .withMaxUnavailable(new IntOrString(0)).withMaxSurge(new IntOrString(1)).endRollingUpdate().endStrategy()
                .withNewTemplate().withNewMetadata().withLabels(LABELS).endMetadata()
                .withNewSpec().withTerminationGracePeriodSeconds(30L)
                .addNewContainer().withName("app").withImage(image).withImagePullPolicy("Never").withArgs("-listen", ":8080")
                .addNewPort().withName("http").withContainerPort(8080).endPort()
                .withNewReadinessProbe().withNewHttpGet().withPath("/healthz").withPort(new IntOrString("http")).endHttpGet()
                .withPeriodSeconds(2).endReadinessProbe()
                .endContainer().endSpec().endTemplate().endSpec().build()).create();
        node.admin().services().inNamespace(APP).resource(new ServiceBuilder()
                .withNewMetadata().withName("web").endMetadata()
                .withNewSpec().withSelector(LABELS).addNewPort().withName("http").withPort(8080)
                .withTargetPort(new IntOrString("http")).endPort().endSpec().build()).create();
    }
}
