package io.lameduck.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * Open-loop constant-rate HTTP load (vegeta) from inside the node's network namespace, no retries: each
 * request's result is kept and every failure classified (refused, reset, timeout, 5xx, other). Beside the load, the
 * node's connection tracking is followed ({@code conntrack -E}) for the target's address, so a refused connection is
 * told with the backend that refused it: through a ClusterIP the client sees only the Service's address, and kube-proxy
 * chose the pod.
 */
final class Load {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Failures by class, how many requests were sent, and which backends refused connections when. */
    record Result(int sent, Map<String, Integer> failures, String examples, String failedBetween, String refusedBy) {
        int failed() {
            return failures.values().stream().mapToInt(Integer::intValue).sum();
        }

        @Override
        public String toString() {
            return failed() + " of " + sent + " failed " + failures + (failedBetween.isEmpty() ? "" : " " + failedBetween)
                    + (refusedBy.isEmpty() ? "" : "; connections refused by " + refusedBy)
                    + (examples.isEmpty() ? "" : "; e.g. " + examples);
        }
    }

    /**
     * Waits until {@code url} answers {@code inARow} requests in a row, each on a new connection, from the node: a Service
     * whose pods just became Ready is routed only once kube-proxy has synced (at most once per --iptables-min-sync-period,
     * so up to about a second later); until then kube-proxy rejects its connections. A load started in that gap fails
     * requests that no termination caused. Returns how long it waited. {@link #start} calls it, so no load can skip it.
     */
    private static Duration awaitAnswering(NodeCluster node, String url, int inARow, Duration limit) {
        long started = System.nanoTime();
        URI target = URI.create(url);
        // bash's /dev/tcp (no curl on a fresh machine): a new connection, one HTTP/1.0 request, its status line.
        String answers = String.format("timeout 2 bash -c 'exec 3<>/dev/tcp/%s/%d && printf \"GET %s HTTP/1.0\\r\\n\\r\\n\" >&3"
                + " && head -c 12 <&3 | grep -q \" 200\"' 2>/dev/null", target.getHost(), port(target), target.getRawPath());
        String script = String.format("n=0; end=$((SECONDS + %d)); while [ $SECONDS -lt $end ]; do"
                + " if %s; then n=$((n+1)); [ $n -ge %d ] && exit 0; else n=0; fi; sleep 0.05; done;"
                + " echo \"%s did not answer %d requests in a row within %ds\"; exit 1",
                limit.toSeconds(), answers, inARow, url, inARow, limit.toSeconds());
        node.inNode(limit.plusSeconds(30), "bash", "-c", script).ok();
        return Duration.ofNanos(System.nanoTime() - started);
    }

    /**
     * Starts {@code rate} requests per second to {@code url} for {@code duration}, once {@code url} answers five requests in
     * a row (see {@link #awaitAnswering}); the future completes when done.
     */
    static CompletableFuture<Result> start(NodeCluster node, String url, int rate, Duration duration, boolean keepAlive) {
        Duration waited = awaitAnswering(node, url, 5, Duration.ofSeconds(30));
        NodeCluster.log(url + " answered 5 requests in a row after " + waited.toMillis() + " ms; starting the load");
        Path vegeta = Path.of(lastLine(Command.of(Duration.ofMinutes(5), "scripts/install/vegeta.sh").ok()));
        Path out;
        Path connections;
        try {
            out = Files.createTempFile("lameduck-load", ".json");
            connections = Files.createTempFile("lameduck-load", ".conntrack");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        URI target = URI.create(url);
        // conntrack's events for the target alone; stopped once the load is done (it only prints, never changes a flow).
        String script = String.format("conntrack -E -p tcp --orig-dst %s --dport %d -o timestamp > %s 2>/dev/null & ct=$!;"
                        + " echo 'GET %s' | %s attack -rate=%d/s -duration=%ds -timeout=10s -keepalive=%s"
                        + " -max-workers=200 | %s encode --to json > %s; rc=$?; sleep 0.2; kill $ct; exit $rc",
                target.getHost(), port(target), connections, url, vegeta, rate, duration.toSeconds(), keepAlive, vegeta, out);
        Command attack = node.inNode(duration.plusMinutes(1), "bash", "-c", script);
        return CompletableFuture.supplyAsync(() -> {
            attack.ok();
            try {
                return classify(out, RefusedConnections.read(connections));
            } finally {
                delete(out);
                delete(connections);
            }
        });
    }

    private static Result classify(Path results, String refusedBy) {
        Map<String, Integer> failures = new TreeMap<>();
        StringBuilder examples = new StringBuilder();
        int sent = 0;
        Instant firstFailure = null;
        Instant lastFailure = null;
        try {
            for (String line : Files.readAllLines(results)) {
                if (line.isBlank()) {
                    continue;
                }
                sent++;
                JsonNode r = JSON.readTree(line);
                int code = r.path("code").asInt();
                String error = r.path("error").asText("");
                String kind = kind(code, error);
                if (kind != null) {
                    failures.merge(kind, 1, Integer::sum);
                    Instant at = OffsetDateTime.parse(r.path("timestamp").asText()).toInstant();
                    firstFailure = firstFailure == null || at.isBefore(firstFailure) ? at : firstFailure;
                    lastFailure = lastFailure == null || at.isAfter(lastFailure) ? at : lastFailure;
                    if (examples.length() < 400) {
                        examples.append(kind).append(": ").append(code).append(' ').append(error).append("; ");
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String between = firstFailure == null ? "" : "(sent " + firstFailure + " to " + lastFailure + ")";
        return new Result(sent, failures, examples.toString(), between, refusedBy);
    }

    private static int port(URI url) {
        return url.getPort() == -1 ? 80 : url.getPort();
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String kind(int code, String error) {
        if (code >= 200 && code < 400 && error.isEmpty()) {
            return null;
        }
        String e = error.toLowerCase(java.util.Locale.ROOT);
        if (e.contains("refused")) {
            return "refused";
        }
        if (e.contains("reset") || e.contains("broken pipe") || e.contains("eof")) {
            return "reset";
        }
        if (e.contains("timeout") || e.contains("deadline exceeded")) {
            return "timeout";
        }
        if (code >= 500) {
            return "5xx";
        }
        return "other";
    }

    private static String lastLine(String output) {
        String[] lines = output.strip().split("\n");
        return lines[lines.length - 1].strip();
    }

    private Load() {}
}
