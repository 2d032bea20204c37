package io.lameduck.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.LogWatch;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A container's log followed from now until the container ends, each line with the container runtime's
 * timestamp (so the time a line was written is known whatever the app prints). Follow before the pod is
 * deleted: once the pod is gone its logs are too.
 */
final class ContainerLog implements AutoCloseable {
    /** An RFC 3339 timestamp, then a space: how the runtime stamps each line ({@code usingTimestamps}). */
    private static final Pattern STAMPED = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T[0-9:.]+Z ");
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final LogWatch watch;
    private final String name;

    private ContainerLog(KubernetesClient client, String namespace, String pod, String container) {
        this.name = pod + "/" + container;
        this.watch = client.pods().inNamespace(namespace).withName(pod).inContainer(container)
                .usingTimestamps().watchLog(buffer);
    }

    static ContainerLog follow(KubernetesClient client, String namespace, String pod, String container) {
        return new ContainerLog(client, namespace, pod, container);
    }

    /** A line the runtime stamped, split into its time and its text. */
    record Line(Instant time, String text) {}

    /**
     * The container's lines. Only lines the runtime stamped count: when the container is removed while its log is followed
     * (an evicted pod's), the stream can end with the kubelet's own message, such as "rpc error: code = NotFound desc = ...",
     * which has no stamp (seen once in a CI run of EvictionOnNodeTest; {@link #text()} keeps it).
     */
    List<Line> lines() {
        return raw().lines().filter(l -> STAMPED.matcher(l).lookingAt()).map(l -> {
            int space = l.indexOf(' ');
            return new Line(Instant.parse(l.substring(0, space)), l.substring(space + 1));
        }).toList();
    }

    private String raw() {
        synchronized (buffer) {
            return buffer.toString(StandardCharsets.UTF_8);
        }
    }

    Optional<Line> first(Predicate<String> text) {
        return lines().stream().filter(l -> text.test(l.text())).findFirst();
    }

    /** Everything followed, unstamped lines included, for assertion messages. */
    String text() {
        return name + ":\n" + raw();
    }

    /** The drain report of an agent's log line, once it has logged one. */
    Optional<JsonNode> drainReport() {
        return lines().stream().filter(l -> l.text().contains("\"drainReport\"")).findFirst().map(line -> {
            try {
                return new ObjectMapper().readTree(line.text()).path("drainReport");
            } catch (Exception e) {
                throw new AssertionError("unreadable drain report: " + line.text(), e);
            }
        });
    }

    /** An agent's drain, its propagate step and the traffic it saw, from the drain report line of its log. */
    String drainSummary() {
        return name + ": " + lines().stream().filter(l -> l.text().contains("\"drainReport\"")).findFirst().map(line -> {
            try {
                JsonNode report = new ObjectMapper().readTree(line.text()).path("drainReport");
                JsonNode propagate = null;
                for (JsonNode step : report.path("steps")) {
                    if ("propagate".equals(step.path("name").asText())) {
                        propagate = step;
                    }
                }
                return String.format("drain %.2fs, withdraw serving=false after %ss, propagate %s (%s); traffic %s",
                        report.path("durationSeconds").asDouble(),
                        report.path("withdrawal").path("servingFalseSeenAfterSeconds").asText("?"),
                        propagate == null ? "?" : propagate.path("durationSeconds").asText(),
                        propagate == null ? "?" : propagate.path("detail").asText(), report.path("traffic"));
            } catch (Exception e) {
                return "unreadable report: " + line.text();
            }
        }).orElse("no drain report (" + lines().size() + " log lines)");
    }

    @Override
    public void close() {
        watch.close();
    }
}
