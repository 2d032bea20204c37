package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lameduck.drain.BudgetSource;
import io.lameduck.logging.LogCapture;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.drain.Withdrawal;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.event.Level;

/** Faults never block past the timeout: a service account without the Role, and an API that is not there. */
@Tag("kube")
class KubeFaultsTest {
    @RegisterExtension
    static final KubeFixture cluster = KubeFixture.namespacePerClass("faults");

    private LogCapture logs;

    @BeforeAll
    static void podAndService() {
        cluster.runPod("app", Map.of("app", "app", "lameduck.io/serving", "true"), List.of("lameduck.io/serving"), 30);
        cluster.service("app", Map.of("app", "app"));
    }

    @BeforeEach
    void captureLogs() {
        logs = LogCapture.of(ApiCalls.class, RbacCheck.class);
    }

    @AfterEach
    void releaseLogs() {
        logs.close();
    }

    @Test
    void withoutTheRoleEveryFeatureDegradesQuicklyAndThe403IsLoggedOnceAndCounted() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (KubeIntegration kube = KubeIntegration.using(config("readiness-gate", "5s"), cluster.agentClient("no-role", false),
                cluster.identity("app"), registry)) {

            assertThat(kube.rbac().checked()).isTrue();
            assertThat(kube.rbac().missing()).containsExactly("get pods", "watch pods", "patch pods", "patch pods/status", "list services",
                    "list discovery.k8s.io/endpointslices", "watch discovery.k8s.io/endpointslices", "create events", "list events");
            assertThat(kube.rbac().degraded()).contains("readiness-gate withdrawal (falls back to probe)",
                    "withdrawal verification on EndpointSlices (withdrawals stay unverified)", "Kubernetes Events on the pod (not written)");
            assertThat(warnings()).anyMatch(m -> m.startsWith("RBAC: missing in namespace " + cluster.namespace()
                    + ": get pods, watch pods, patch pods, patch pods/status"));

            long start = System.nanoTime();
            Withdrawal.Result first = kube.withdrawal().withdraw(Duration.ofSeconds(5));
            Withdrawal.Result second = kube.withdrawal().withdraw(Duration.ofSeconds(5));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(List.of(first, second)).allSatisfy(result -> {
                assertThat(result.status()).isEqualTo(Withdrawal.Status.DEGRADED);
                assertThat(result.detail()).startsWith("readiness-gate: get pods is forbidden for the agent's service account (HTTP 403)")
                        .endsWith("fell back to probe (/readyz answers 503) plus the full propagation delay");
            });
            assertThat(took).isLessThan(Duration.ofSeconds(2));
            assertThat(warnings()).filteredOn(m -> m.startsWith("get pods is forbidden")).hasSize(1);
            assertThat(KubeTestSupport.scrape(registry))
                    .contains("lameduck_kube_requests_total{code=\"403\",resource=\"pods\",verb=\"get\"} 3")
                    .contains("lameduck_withdrawal_duration_seconds_count{confirmed=\"false\",strategy=\"readiness-gate\"} 2");

            assertThat(kube.budgetSource().budget())
                    .isEqualTo(new BudgetSource.Budget(Duration.ofSeconds(30), "drain.budget (pod not readable: forbidden)"));
            assertThat(kube.startupState().deleting()).isFalse();
            assertThat(kube.startupState().persistedMaintenance()).isEmpty();
            kube.maintenanceStore().save(new MaintenanceStatus(true, "test", Instant.now(), null, null)); // logged, not thrown
            assertThat(kube.withdrawal().restore().status()).isEqualTo(Withdrawal.Status.DEGRADED);
        }
    }

    @Test
    void anUnreachableApiDegradesToProbeWithinTheTimeout() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        // fabric8's default config: it retries a refused connection with back-off for far longer than any timeout
        try (KubernetesClient nowhere = new KubernetesClientBuilder()
                .withConfig(cluster.clientConfig("https://127.0.0.1:" + closedPort, "token")).build();
                KubeIntegration kube = timed(Duration.ofMillis(5500), () -> KubeIntegration.using(config("label", "3s"), nowhere,
                        cluster.identity("app"), new PrometheusRegistry()))) {

            assertThat(kube.rbac().checked()).isFalse();
            long start = System.nanoTime();
            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(3));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(result.status()).isEqualTo(Withdrawal.Status.DEGRADED);
            assertThat(result.detail()).startsWith("label: get pods: ").contains("fell back to probe");
            assertThat(took).isLessThan(Duration.ofMillis(3500));
            BudgetSource.Budget budget = timed(Duration.ofMillis(2500), () -> kube.budgetSource().budget());
            assertThat(budget.total()).isEqualTo(Duration.ofSeconds(30));
            assertThat(budget.source()).startsWith("drain.budget (pod not readable: ");
        }
    }

    @Test
    void anApiThatAcceptsConnectionsButNeverAnswersDegradesWithinTheTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept()); // accept, then say nothing (not even the TLS handshake)
                    }
                } catch (java.io.IOException closed) {
                    // test over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            try (KubernetesClient hanging = new KubernetesClientBuilder()
                    .withConfig(cluster.clientConfig("https://127.0.0.1:" + silent.getLocalPort(), "token")).build();
                    KubeIntegration kube = timed(Duration.ofMillis(5500), () -> KubeIntegration.using(config("readiness-gate", "2s"), hanging,
                            cluster.identity("app"), new PrometheusRegistry()))) {
                long start = System.nanoTime();
                Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(2));
                Duration took = Duration.ofNanos(System.nanoTime() - start);

                assertThat(result.status()).isEqualTo(Withdrawal.Status.DEGRADED);
                assertThat(result.detail()).contains("fell back to probe");
                assertThat(took).isLessThan(Duration.ofMillis(3000));
            } finally {
                for (java.net.Socket socket : held) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void aPodThatNoLongerExistsIs404AndDegradesWithoutBlocking() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (KubeIntegration kube = KubeIntegration.using(config("label", "3s"), cluster.agentClient(), cluster.identity("gone"), registry)) {
            long start = System.nanoTime();
            Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(3));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(result.status()).isEqualTo(Withdrawal.Status.DEGRADED);
            assertThat(result.detail()).startsWith("label: get pods: ").contains("fell back to probe");
            assertThat(took).isLessThan(Duration.ofSeconds(2));
            assertThat(kube.startupState().deleting()).isFalse();
            assertThat(kube.budgetSource().budget().source()).startsWith("drain.budget (pod not readable: ");
            assertThat(KubeTestSupport.scrape(registry)).contains("lameduck_kube_requests_total{code=\"404\",resource=\"pods\",verb=\"get\"}");
        }
    }

    private List<String> warnings() {
        return logs.messages(Level.WARN);
    }

    private interface Action<T> {
        T run() throws Exception;
    }

    private static <T> T timed(Duration limit, Action<T> action) throws Exception {
        long start = System.nanoTime();
        T result = action.run();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(limit);
        return result;
    }

}
