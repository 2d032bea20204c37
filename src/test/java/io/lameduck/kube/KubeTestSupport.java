package io.lameduck.kube;

import io.fabric8.kubernetes.client.Config;
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
import java.util.Map;

/** Small helpers shared by the kube tests (the cluster fixture itself: {@link KubeFixture}). */
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
        return writeKubeconfig(file, "server: \"" + server + "\"", token);
    }

    /**
     * Writes a kubeconfig for an HTTPS {@code server} whose certificate is signed by the CA of {@code trusted} (the test API
     * server's admin config), with a bearer {@code token}, to {@code file}; returns the file.
     */
    static Path tokenKubeconfig(Path file, String server, String token, Config trusted) throws IOException {
        String ca = trusted.getCaCertData() != null ? "certificate-authority-data: " + trusted.getCaCertData()
                : "certificate-authority: " + trusted.getCaCertFile();
        return writeKubeconfig(file, "server: \"" + server + "\", " + ca, token);
    }

    private static Path writeKubeconfig(Path file, String cluster, String token) throws IOException {
        return Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {%s}}]
                users: [{name: u, user: {token: "%s"}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                """.formatted(cluster, token));
    }

    static Map<String, String> labels(String app, boolean serving) {
        return Map.of("app", app, "lameduck.io/serving", Boolean.toString(serving));
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
