package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.ConfigException;
import io.lameduck.config.ConfigLoader;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/** Small helpers shared by the kube tests. */
final class KubeTestSupport {
    private KubeTestSupport() {}

    /** The agent's configuration with the given withdrawal strategy and timeout (everything else default). */
    static AgentConfig config(String strategy, String timeout) {
        return config("drain:\n  budget: 30s\n  withdraw:\n    strategy: " + strategy + "\n    timeout: " + timeout + "\n");
    }

    static AgentConfig config(String yaml) {
        try {
            return new ConfigLoader(Map.of()).parse(yaml);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Writes a kubeconfig for a plain-HTTP {@code server} (e.g. {@link FaultInjectingApiProxy#url()}) with a bearer
     * {@code token} to {@code file}; returns the file.
     */
    static Path tokenKubeconfig(Path file, String server, String token) throws IOException {
        return Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "%s"}}]
                users: [{name: u, user: {token: "%s"}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                """.formatted(server, token));
    }

    static Map<String, String> labels(String app, boolean serving) {
        return Map.of("app", app, "lameduck.io/serving", Boolean.toString(serving));
    }

    /** The pod's endpoint in the Service's EndpointSlices: its {@code ready} condition, or empty when not listed. */
    static Optional<Boolean> endpointReady(KubernetesClient admin, String namespace, String service, Pod pod) {
        return admin.discovery().v1().endpointSlices().inNamespace(namespace)
                .withLabel(EndpointVerifier.SERVICE_NAME_LABEL, service).list().getItems().stream()
                .flatMap(slice -> slice.getEndpoints() == null ? Stream.empty() : slice.getEndpoints().stream())
                .filter(e -> e.getTargetRef() != null && pod.getMetadata().getUid().equals(e.getTargetRef().getUid()))
                .map(Endpoint::getConditions)
                .map(c -> c.getReady() == null || c.getReady())
                .findFirst();
    }

    /** Waits until the pod's endpoint is {@code ready} (true/false), or gone ({@code null}). */
    static void awaitEndpoint(KubernetesClient admin, String namespace, String service, Pod pod, Boolean ready) {
        Awaitility.await("endpoint of " + pod.getMetadata().getName() + " in Service " + service + " " + (ready == null ? "gone" : "ready=" + ready))
                .atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                .until(() -> Objects.equals(endpointReady(admin, namespace, service, pod).orElse(null), ready));
    }

    static String scrape(PrometheusRegistry registry) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
            return out.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
