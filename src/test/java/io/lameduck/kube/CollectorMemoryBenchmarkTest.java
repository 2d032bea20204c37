package io.lameduck.kube;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fleet collector's memory after {@value #REPORTS} reports: the collector runs as its own process, with the image's
 * JVM flags (agent/jvm.options) and the chart's {@code -Xmx64m}, against the real kube-apiserver; {@value #REPORTS} report
 * Events of {@value #WORKLOADS} workloads are written, {@value #ROUNDS} times, and each time it counted them all the figures
 * are printed and appended to {@code target/kube/collector-memory.txt}: resident set, heap live after a full GC, the state's
 * size. Nothing is asserted on them (they depend on the machine); a report not counted stops the run.
 *
 * <p>A benchmark, tagged {@code bench}: neither {@code mvn test} nor {@code mvn verify} runs it. Run it with
 * <pre>
 * scripts/mvn verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dintegration.groups=bench -Dit.test=CollectorMemoryBenchmarkTest
 * </pre>
 */
@Tag("bench")
class CollectorMemoryBenchmarkTest {
    static final int REPORTS = 10_000;
    /** Rounds of {@value #REPORTS}: the third goes past the bound on remembered Events (20,000), which must hold memory flat. */
    static final int ROUNDS = 3;
    private static final String COUNTED = "lameduck_collector_reports_total\\{result=\"counted\"\\}";
    static final int WORKLOADS = 200;

    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("collector-memory");

    @Test
    void memoryAfterTenThousandReports() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        Files.readAllLines(Path.of("agent/jvm.options")).stream().map(String::strip)
                .filter(line -> !line.isEmpty() && !line.startsWith("#")).forEach(argv::add);
        argv.addAll(List.of("-Xmx64m", "-jar", "target/lameduck.jar", "collector", "--port", String.valueOf(port), "--host", "127.0.0.1",
                "--state-configmap", "collector-state", "--state-namespace", cluster.namespace(), "--log-format", "text"));
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(Path.of("target/kube/collector-memory.log").toFile());
        builder.environment().put("KUBECONFIG", Path.of("target/kube/kubeconfig.yaml").toAbsolutePath().toString());
        Process collector = builder.start();
        collector.getOutputStream().close();
        try {
            String base = "http://127.0.0.1:" + port;
            await("collector ready").atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> get(base + "/readyz").statusCode() == 200);
            List<String> lines = new ArrayList<>();
            lines.add(figures("idle, before any report", collector.pid(), base, 0));
            for (int round = 1; round <= ROUNDS; round++) {
                double before = metric(get(base + "/metrics").body(), COUNTED);
                long start = System.nanoTime();
                write(cluster.admin(), cluster.namespace(), round);
                double seconds = (System.nanoTime() - start) / 1e9;
                await("all " + REPORTS + " of round " + round + " counted").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> metric(get(base + "/metrics").body(), COUNTED) - before >= REPORTS);
                Thread.sleep(3_000); // the state written
                lines.add(figures(String.format("after %,d reports (this round written in %.0f s)", round * REPORTS, seconds), collector.pid(),
                        base, round));
            }
            String header = Instant.now().truncatedTo(ChronoUnit.SECONDS) + ": the collector (agent/jvm.options, -Xmx64m), " + WORKLOADS
                    + " workloads, default bounds (20,000 remembered Events, 20 recent per workload and 2,000 in all)";
            System.out.println(header);
            lines.forEach(System.out::println);
            Files.writeString(Path.of("target/kube/collector-memory.txt"), header + "\n" + String.join("\n", lines) + "\n",
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } finally {
            collector.destroy();
            collector.waitFor();
        }
    }

    /** One line of figures, after a full GC (jcmd GC.run) so the heap is what is live. */
    private static String figures(String when, long pid, String base, int round) throws Exception {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        new ProcessBuilder(jcmd, String.valueOf(pid), "GC.run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
        String metrics = get(base + "/metrics").body();
        return String.format("- %s: RSS %.1f MiB; heap live %.1f MiB (committed %.1f MiB); non-heap %.1f MiB; state %.1f KiB gzipped; "
                        + "%d workloads, %d Events remembered", when, rss(pid) / 1048576.0,
                metric(metrics, "jvm_memory_used_bytes\\{area=\"heap\"\\}") / 1048576.0,
                metric(metrics, "jvm_memory_committed_bytes\\{area=\"heap\"\\}") / 1048576.0,
                metric(metrics, "jvm_memory_used_bytes\\{area=\"nonheap\"\\}") / 1048576.0,
                round == 0 ? 0 : metric(metrics, "lameduck_collector_state_bytes") / 1024.0,
                (long) metric(metrics, "lameduck_collector_workloads"), (long) metric(metrics, "lameduck_collector_seen_events"));
    }

    /** {@value #REPORTS} report Events, four writers at a time. */
    private static void write(KubernetesClient client, String namespace, int round) throws Exception {
        ExecutorService writers = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int writer = w;
                done.add(writers.submit(() -> {
                    for (int i = writer; i < REPORTS; i += 4) {
                        client.v1().events().inNamespace(namespace).resource(event(namespace, round * REPORTS + i)).create();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            writers.shutdownNow();
        }
    }

    /** A report as big as a real one (steps, hooks, a traffic section). */
    private static Event event(String namespace, int i) {
        String workload = "workload-" + (i % WORKLOADS);
        String now = Instant.now().toString();
        String report = "{\"id\":\"drain-" + i + "\",\"trigger\":\"prestop\",\"outcome\":\"completed\",\"startedAt\":\"" + now
                + "\",\"finishedAt\":\"" + now + "\",\"deadline\":\"" + now + "\",\"deadlineSource\":\"pod deletionTimestamp\",\"durationSeconds\":"
                + (2 + i % 7) + ",\"steps\":[{\"name\":\"unready\",\"outcome\":\"completed\",\"durationSeconds\":0.0},{\"name\":\"withdraw\","
                + "\"outcome\":\"completed\",\"durationSeconds\":0.8,\"detail\":\"readiness-gate: confirmed after 0.812s\"},{\"name\":\"propagate\","
                + "\"outcome\":\"completed\",\"durationSeconds\":2.4},{\"name\":\"hooks\",\"outcome\":\"completed\",\"durationSeconds\":0.1}],"
                + "\"hooks\":[],\"traffic\":{\"ports\":[8080],\"watchedSeconds\":3.2,\"withdrawnSeconds\":0.8,\"newConnections\":12,\"requests\":80,"
                + "\"lastRequestSeconds\":1.9,\"quietSeconds\":1.3,\"requiredQuietSeconds\":1.0,\"quietRule\":\"ten mean gaps\",\"stopped\":true,"
                + "\"stillSending\":[],\"sources\":[{\"address\":\"10.244.0.9\",\"newConnections\":12,\"requests\":80,\"lastSeconds\":1.9}]}}";
        return ReportEvents.of(namespace, workload + "-" + i + ".report", workload + "-pod-" + i, workload, report);
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static double metric(String text, String name) {
        Matcher m = Pattern.compile("^" + name + " ([0-9.eE+-]+)$", Pattern.MULTILINE).matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private static long rss(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }
}
