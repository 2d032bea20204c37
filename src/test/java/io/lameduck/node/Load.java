package io.lameduck.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * Open-loop constant-rate HTTP load (vegeta) from inside the node's network namespace, no retries: each
 * request's result is kept and every failure classified (refused, reset, timeout, 5xx, other).
 */
final class Load {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Failures by class, and how many requests were sent. */
    record Result(int sent, Map<String, Integer> failures, String examples) {
        int failed() {
            return failures.values().stream().mapToInt(Integer::intValue).sum();
        }

        @Override
        public String toString() {
            return failed() + " of " + sent + " failed " + failures + (examples.isEmpty() ? "" : "; e.g. " + examples);
        }
    }

    /** Starts {@code rate} requests per second to {@code url} for {@code duration}; the future completes when done. */
    static CompletableFuture<Result> start(NodeCluster node, String url, int rate, Duration duration, boolean keepAlive) {
        Path vegeta = Path.of(lastLine(Command.of(Duration.ofMinutes(5), "scripts/vegeta.sh").ok()));
        Path out;
        try {
            out = Files.createTempFile("lameduck-load", ".json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String script = String.format("echo 'GET %s' | %s attack -rate=%d/s -duration=%ds -timeout=10s -keepalive=%s"
                        + " -max-workers=200 | %s encode --to json > %s",
                url, vegeta, rate, duration.toSeconds(), keepAlive, vegeta, out);
        Command attack = node.inNode(duration.plusMinutes(1), "bash", "-c", script);
        return CompletableFuture.supplyAsync(() -> {
            attack.ok();
            return classify(out);
        });
    }

    private static Result classify(Path results) {
        Map<String, Integer> failures = new TreeMap<>();
        StringBuilder examples = new StringBuilder();
        int sent = 0;
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
                    if (examples.length() < 400) {
                        examples.append(kind).append(": ").append(code).append(' ').append(error).append("; ");
                    }
                }
            }
            Files.deleteIfExists(results);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Result(sent, failures, examples.toString());
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
