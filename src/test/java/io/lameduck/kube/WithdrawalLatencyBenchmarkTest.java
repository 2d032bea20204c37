package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static io.lameduck.kube.KubeTestSupport.labels;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.lameduck.drain.Withdrawal;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Measures withdrawal latency: from calling {@code withdraw()} until the agent saw, on a watch of the
 * EndpointSlices maintained by the real EndpointSlice controller, that the pod is absent or serving=false in all of them
 * (the call returns CONFIRMED at that moment). 3 warm-up runs, then {@value #RUNS} measured runs per
 * strategy; between runs the pod is restored and the test waits until its endpoint is ready again.
 * Prints median and p95 beside what a readiness probe with Kubernetes' defaults implies, and appends them
 * to {@code target/kube/withdrawal-latency.txt}. Timings depend on the machine, so nothing is asserted on them; a
 * withdrawal that is not confirmed stops the run (it would not be a measurement).
 *
 * <p>A benchmark, not a test: tagged {@code bench}, which neither {@code mvn test} nor {@code mvn verify} runs (66
 * withdrawals for figures nothing checks). What the test suite needs of it, that a withdrawal after serving again is
 * confirmed again, {@code KubeWithdrawalTest} asserts. Run it with (the Kubernetes binaries from
 * {@code scripts/install/kube-binaries.sh}):
 * <pre>
 * scripts/mvn verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dintegration.groups=bench -Dit.test=WithdrawalLatencyBenchmarkTest
 * </pre>
 */
@Tag("bench")
class WithdrawalLatencyBenchmarkTest {
    static final int RUNS = 30;
    private static final int WARMUP = 3;

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("latency");

    @Test
    void labelAndReadinessGateWithdrawalLatency() throws Exception {
        List<String> lines = new ArrayList<>();
        Pod labelPod = cluster.runPod("label", labels("label", true), List.of(), 30);
        cluster.service("label", labels("label", true));
        lines.add(measure("label", labelPod, "label"));

        Pod gatePod = cluster.runPod("gate", Map.of("app", "gate"), List.of("lameduck.io/serving"), 30);
        cluster.service("gate", Map.of("app", "gate"));
        lines.add(measure("readiness-gate", gatePod, "gate"));
        // Readiness probe defaults: periodSeconds 10, failureThreshold 3. The first failing probe comes
        // uniformly 0-10s after /readyz starts failing, then two more periods: unready after U(20s, 30s).
        lines.add(String.format("probe (Kubernetes readiness-probe defaults periodSeconds=10 failureThreshold=3, computed): "
                + "median %.1fs p95 %.1fs (uniform 20-30s), plus the same controller and watch delay", 25.0, 29.5));
        lines.forEach(System.out::println);
        write(lines);
    }

    private String measure(String strategy, Pod pod, String service) throws InterruptedException {
        List<Double> millis = new ArrayList<>();
        try (KubeIntegration kube = KubeIntegration.using(config(strategy, "10s"), cluster.agentClient(),
                cluster.identity(pod.getMetadata().getName()), new PrometheusRegistry())) {
            for (int run = 0; run < WARMUP + RUNS; run++) {
                kube.withdrawal().restore();
                cluster.awaitEndpoint(service, pod, true);

                long start = System.nanoTime();
                Withdrawal.Result result = kube.withdrawal().withdraw(Duration.ofSeconds(10));
                long took = System.nanoTime() - start;

                assertThat(result.status()).as(result.detail()).isEqualTo(Withdrawal.Status.CONFIRMED);
                assertThat(cluster.endpointReady(service, pod).orElse(false)).isFalse();
                if (run >= WARMUP) {
                    millis.add(took / 1e6);
                }
            }
        }
        List<Double> sorted = millis.stream().sorted().toList();
        return String.format("%s: median %.0fms p95 %.0fms min %.0fms max %.0fms over %d runs (call -> pod absent or serving=false in every EndpointSlice)",
                strategy, percentile(sorted, 50), percentile(sorted, 95), sorted.get(0), sorted.get(sorted.size() - 1), sorted.size());
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(List<Double> sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    private static void write(List<String> lines) throws IOException {
        Path file = Files.createDirectories(Path.of("target", "kube")).resolve("withdrawal-latency.txt");
        Files.write(file, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
