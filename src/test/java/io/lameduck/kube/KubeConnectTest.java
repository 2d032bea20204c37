package io.lameduck.kube;

import static io.lameduck.kube.KubeTestSupport.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Standalone versus connected, decided once at startup (no cluster needed). */
class KubeConnectTest {
    @TempDir
    Path dir;

    @Test
    void kubeModeDisabledIsStandalone() throws Exception {
        assertThat(connect("disabled", Map.of("POD_NAME", "p", "POD_NAMESPACE", "n", "KUBERNETES_SERVICE_HOST", "10.0.0.1"))).isEmpty();
    }

    @Test
    void autoWithoutAnIdentityOrAnApiIsStandalone() throws Exception {
        assertThat(connect("auto", Map.of())).isEmpty();
        assertThat(connect("auto", Map.of("POD_NAME", "p", "POD_NAMESPACE", "n"))).isEmpty();
    }

    @Test
    void enabledWithoutAnIdentityOrAnApiFailsSayingWhatIsMissing() {
        assertThatThrownBy(() -> connect("enabled", Map.of()))
                .isInstanceOf(KubeUnavailableException.class)
                .hasMessageStartingWith("kube.mode is enabled but cannot tell which pod this is: missing the pod name (set POD_NAME");
        assertThatThrownBy(() -> connect("enabled", Map.of("POD_NAME", "p", "POD_NAMESPACE", "n")))
                .isInstanceOf(KubeUnavailableException.class)
                .hasMessageContaining("no Kubernetes API configured (neither KUBERNETES_SERVICE_HOST")
                .hasMessageEndingWith("or set kube.mode: auto to run standalone without the Kubernetes integration");
    }

    @Test
    void anApiThatDoesNotAnswerIsStandaloneInAutoModeAndAnErrorWhenEnabled() throws Exception {
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "https://127.0.0.1:%d", insecure-skip-tls-verify: true}}]
                users: [{name: u, user: {token: t}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                """.formatted(closedPort()));
        Map<String, String> env = Map.of("POD_NAME", "p", "POD_NAMESPACE", "n", "KUBECONFIG", kubeconfig.toString());

        assertThat(connect("auto", env)).isEmpty();
        assertThatThrownBy(() -> connect("enabled", env))
                .isInstanceOf(KubeUnavailableException.class)
                .hasMessageContaining("cannot read pod n/p from the API at https://127.0.0.1:")
                .hasMessageContaining(" attempts)"); // retried while the start-up read window lasted
    }

    private java.util.Optional<KubeIntegration> connect(String mode, Map<String, String> env) throws KubeUnavailableException {
        // A 1 s start-up read window instead of 20 s: an API that never answers is retried for that long.
        return KubeIntegration.connect(config("kube:\n  mode: " + mode + "\n"), env, new PrometheusRegistry(), dir.resolve("no-namespace-file"),
                Duration.ofSeconds(1));
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
