package io.lameduck.inject;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lameduck.config.ConfigException;
import io.lameduck.logging.LogCapture;
import io.lameduck.testsupport.Command;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

/**
 * The injector picks up a renewed certificate with no restart, as cert-manager renews it: the real Jetty server on
 * loopback, certificates from openssl, the files replaced the way a Secret mount swaps them (a rename).
 */
class CertificateReloadTest {
    @TempDir
    Path dir;
    private InjectorServer server;
    private final PrometheusRegistry registry = new PrometheusRegistry();

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void aRenewedCertificateIsServedWithoutARestartAndABrokenPairKeepsTheCurrentOne() throws Exception {
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        selfSigned("first", cert, key);
        server = new InjectorServer(new InjectorServer.Settings("127.0.0.1", 0, 0, cert, key, Duration.ofMillis(100)),
                new AdmissionHandler(new PodInjector(PodInjectorTest.template(), "test"), AgentRoleBinder.NONE, new InjectorMetrics(registry)),
                registry);
        server.start();
        assertThat(servedName()).isEqualTo("CN=first");

        Path renewed = Files.createDirectory(dir.resolve("renewed"));
        selfSigned("second", renewed.resolve("tls.crt"), renewed.resolve("tls.key"));
        Files.move(renewed.resolve("tls.key"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(renewed.resolve("tls.crt"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Awaitility.await("the renewed certificate served").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(this::servedName, "CN=second"::equals);
        assertThat(reloads("reloaded")).isGreaterThanOrEqualTo(1);

        // A new certificate whose key has not arrived yet: it does not load, and the one in use stays.
        Path third = Files.createDirectory(dir.resolve("third"));
        selfSigned("third", third.resolve("tls.crt"), third.resolve("tls.key"));
        Files.move(third.resolve("tls.crt"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Awaitility.await("the broken pair counted").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> reloads("failed") >= 1);
        assertThat(servedName()).isEqualTo("CN=second");
        // ... and once the key follows, the pair loads.
        Files.move(third.resolve("tls.key"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Awaitility.await("the completed pair served").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(this::servedName, "CN=third"::equals);

        // A file past the 1 MiB bound is not read at all (no PEM is that large): said so, and the pair in use stays.
        try (LogCapture logs = LogCapture.of(CertificateReloader.class)) {
            Path huge = dir.resolve("huge.crt");
            Files.write(huge, new byte[1024 * 1024 + 1]);
            Files.move(huge, cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Awaitility.await("the oversized file refused").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> logs.messages(Level.WARN).stream().anyMatch(m -> m.contains("is larger than 1024 KiB")));
            assertThat(servedName()).isEqualTo("CN=third");
        }
    }

    @Test
    void aCertificateWithAnotherKeyIsRefusedAtStartSayingSo() {
        Path one = dir.resolve("one");
        Path other = dir.resolve("other");
        selfSigned("one", Path.of(one + ".crt"), Path.of(one + ".key"));
        selfSigned("other", Path.of(other + ".crt"), Path.of(other + ".key"));
        assertThatThrownBy(() -> new InjectorServer(new InjectorServer.Settings("127.0.0.1", 0, 0, Path.of(one + ".crt"), Path.of(other + ".key")),
                new AdmissionHandler(new PodInjector(PodInjectorTest.template(), "test"), AgentRoleBinder.NONE, new InjectorMetrics(registry)),
                registry))
                .isInstanceOf(ConfigException.class).hasMessageContaining("is not the key of the certificate in --tls-cert-file");
    }

    private void selfSigned(String name, Path cert, Path key) {
        Command.Result result = Command.run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=" + name, "-keyout", key.toString(), "-out", cert.toString()), dir, Duration.ofSeconds(60));
        assertThat(result.exit()).as(result.output()).isZero();
    }

    /** The subject of the certificate a fresh TLS handshake gets. */
    private String servedName() throws Exception {
        X509Certificate[] seen = new X509Certificate[1];
        TrustManager recordAll = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                seen[0] = chain[0];
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {recordAll}, null);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            socket.setSoTimeout(5_000);
            socket.startHandshake();
        }
        return seen[0].getSubjectX500Principal().getName();
    }

    private double reloads(String outcome) {
        return registry.scrape().stream().filter(m -> m.getMetadata().getName().equals("lameduck_injector_certificate_reloads"))
                .flatMap(m -> ((CounterSnapshot) m).getDataPoints().stream())
                .filter(d -> d.getLabels().get("outcome").equals(outcome)).mapToDouble(CounterSnapshot.CounterDataPointSnapshot::getValue)
                .sum();
    }
}
