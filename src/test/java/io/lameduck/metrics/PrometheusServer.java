package io.lameduck.metrics;

import static org.awaitility.Awaitility.await;

import io.lameduck.testsupport.Tools;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real Prometheus server (Debian's {@code prometheus} binary, see {@code scripts/install/prometheus.sh}) that
 * scrapes one target every second, for integration tests. It listens on a free loopback port and keeps
 * its config, TSDB and log in a temporary directory, which {@link #close()} removes with the process.
 *
 * <p>{@code /-/ready} answers within a fraction of a second, but the first scrape results take about ten
 * seconds to become queryable: poll {@link #query} with Awaitility.
 */
public final class PrometheusServer implements AutoCloseable {
    /** One element of an instant-vector result; a scalar result is one sample without labels. */
    public record Sample(Map<String, String> labels, double value) {
        public String label(String name) {
            return labels.get(name);
        }
    }

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int BIND_ATTEMPTS = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Path dir;
    private final URI uri;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private PrometheusServer(Process process, Path dir, URI uri) {
        this.process = process;
        this.dir = dir;
        this.uri = uri;
    }

    /**
     * Starts Prometheus scraping {@code target} ({@code host:port}, path {@code /metrics}) every second and
     * returns once {@code /-/ready} answers 200.
     */
    public static PrometheusServer start(String target) throws IOException {
        Path binary = Tools.require("prometheus");
        Path dir = Files.createTempDirectory("lameduck-prometheus");
        try {
            Path config = Files.writeString(dir.resolve("prometheus.yml"), config(target));
            for (int attempt = 1; ; attempt++) {
                // The port is free when we look; another process may take it before Prometheus binds, so retry.
                int port = freeLoopbackPort();
                PrometheusServer server = launch(binary, config, dir, port);
                if (server.awaitReady()) {
                    return server;
                }
                String log = server.log();
                server.stopProcess();
                if (attempt == BIND_ATTEMPTS || !log.contains("address already in use")) {
                    throw new IllegalStateException("prometheus on port " + port + " did not become ready within "
                            + READY_TIMEOUT + "; its log:\n" + log);
                }
            }
        } catch (IOException | RuntimeException e) {
            deleteRecursively(dir);
            throw e;
        }
    }

    private static String config(String target) {
        return """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: lameduck
                    metrics_path: /metrics
                    static_configs:
                      - targets: ['%s']
                """.formatted(target);
    }

    private static PrometheusServer launch(Path binary, Path config, Path dir, int port) throws IOException {
        Path data = Files.createDirectories(dir.resolve("data-" + port));
        Process process = new ProcessBuilder(binary.toString(),
                "--config.file=" + config,
                "--storage.tsdb.path=" + data,
                "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("prometheus-" + port + ".log").toFile())
                .start();
        return new PrometheusServer(process, dir, URI.create("http://127.0.0.1:" + port));
    }

    /** True once {@code /-/ready} answers 200; false if the process exits first or the wait times out. */
    private boolean awaitReady() {
        try {
            await("prometheus /-/ready at " + uri).atMost(READY_TIMEOUT).pollInterval(Duration.ofMillis(100))
                    .until(() -> !process.isAlive() || isReady());
        } catch (ConditionTimeoutException e) {
            return false;
        }
        return process.isAlive();
    }

    private boolean isReady() {
        try {
            return get("/-/ready").statusCode() == 200;
        } catch (IOException e) {
            return false; // not listening yet
        }
    }

    /** The base address, e.g. {@code http://127.0.0.1:41234}. */
    public URI uri() {
        return uri;
    }

    /**
     * Evaluates {@code promql} now through {@code /api/v1/query}.
     *
     * @return the instant vector, empty when nothing matches yet; a scalar as one sample without labels
     * @throws IllegalStateException when Prometheus rejects the query (the message carries its error)
     */
    public List<Sample> query(String promql) throws IOException {
        HttpResponse<String> response = get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        JsonNode body = JSON.readTree(response.body());
        if (!"success".equals(body.path("status").asText())) {
            throw new IllegalStateException("query " + promql + " failed (" + response.statusCode() + "): "
                    + body.path("errorType").asText() + ": " + body.path("error").asText());
        }
        JsonNode data = body.path("data");
        String type = data.path("resultType").asText();
        List<Sample> samples = new ArrayList<>();
        switch (type) {
            case "vector" -> data.path("result").forEach(element -> samples.add(
                    new Sample(labels(element.path("metric")), element.path("value").get(1).asDouble())));
            case "scalar" -> samples.add(new Sample(Map.of(), data.path("result").get(1).asDouble()));
            default -> throw new IllegalStateException("query " + promql + " returned a " + type
                    + "; only instant vectors and scalars are supported");
        }
        return samples;
    }

    private static Map<String, String> labels(JsonNode metric) {
        Map<String, String> labels = new TreeMap<>();
        metric.properties().forEach(field -> labels.put(field.getKey(), field.getValue().asText()));
        return labels;
    }

    private HttpResponse<String> get(String pathAndQuery) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(uri.resolve(pathAndQuery)).timeout(Duration.ofSeconds(5)).GET().build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while calling " + request.uri(), e);
        }
    }

    /** What Prometheus logged so far, for failure messages. */
    public String log() {
        try {
            return Files.readString(dir.resolve("prometheus-" + uri.getPort() + ".log"));
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        try {
            stopProcess();
        } finally {
            deleteRecursively(dir);
        }
    }

    private void stopProcess() {
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete " + root, e);
        }
    }
}
