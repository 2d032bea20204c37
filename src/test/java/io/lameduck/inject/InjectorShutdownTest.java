package io.lameduck.inject;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lameduck.testsupport.SimulatedTime;
import io.lameduck.testsupport.TestCertificates;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The injector leaves the way Lameduck asks of apps: after SIGTERM it keeps answering admissions for its shutdown
 * delay, each answer closing its connection (the API server pools them, and one used after the listener closed fails
 * the webhook open: a pod without the sidecar), and only then stops. The real Jetty server on loopback with openssl
 * certificates; the delay on simulated time, so its end is exact.
 */
class InjectorShutdownTest {
    private static final Duration DELAY = Duration.ofSeconds(5);
    private static final Duration JUST_BEFORE = DELAY.minusMillis(1);

    @TempDir
    Path dir;
    private InjectorServer server;
    private SSLContext tls;
    private int port; // the server forgets it once stopped

    @BeforeEach
    void start() throws Exception {
        TestCertificates certificates = TestCertificates.issue(dir, "shutdown-test-ca", "IP:127.0.0.1");
        PrometheusRegistry registry = new PrometheusRegistry();
        server = new InjectorServer(new InjectorServer.Settings("127.0.0.1", 0, 0, certificates.cert(), certificates.key()),
                new AdmissionHandler(new PodInjector(PodInjectorTest.template(), "test"), AgentRoleBinder.NONE, new InjectorMetrics(registry)),
                registry);
        server.start();
        port = server.port();
        tls = TestCertificates.trusting(certificates.caPem());
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    @Test
    void afterSigtermAdmissionsAreAnsweredOnClosingConnectionsUntilTheDelayEndsThenTheListenerCloses() throws Exception {
        assertThat(ask()).as("before SIGTERM: keep-alive").doesNotContainIgnoringCase("connection: close");

        try (SimulatedTime time = new SimulatedTime()) {
            SimulatedTime.Task<Void> stopping = time.run("stop", () -> {
                server.stopAfter(DELAY, time);
                return null;
            });
            assertThat(ask()).as("at SIGTERM").startsWith("HTTP/1.1 405").containsIgnoringCase("connection: close");

            time.advance(JUST_BEFORE);
            assertThat(stopping.isDone()).isFalse();
            assertThat(ask()).as("1 ms before the delay ends").startsWith("HTTP/1.1 405").containsIgnoringCase("connection: close");

            time.advance(DELAY.minus(JUST_BEFORE));
            assertThat(stopping.isDone()).as("stopped once the delay ended").isTrue();
            stopping.result();
        }
        assertThatThrownBy(this::ask).as("the listener is closed").isInstanceOf(ConnectException.class);
    }

    @Test
    void withNoDelayItStopsAtOnce() throws Exception {
        try (SimulatedTime time = new SimulatedTime()) {
            SimulatedTime.Task<Void> stopping = time.run("stop", () -> {
                server.stopAfter(Duration.ZERO, time);
                return null;
            });
            assertThat(stopping.isDone()).isTrue();
            stopping.result();
        }
        assertThatThrownBy(this::ask).isInstanceOf(ConnectException.class);
    }

    /** A GET on a fresh TLS connection to the admission port (405: admissions are POSTs); the answer's status line and headers. */
    private String ask() throws IOException {
        try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write("GET /mutate HTTP/1.1\r\nHost: injector\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return headers(socket.getInputStream());
        }
    }

    /** Everything up to the blank line after the headers (the connection may stay open: reading to the end would wait). */
    private static String headers(InputStream in) throws IOException {
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        for (int b = in.read(); b >= 0 && read.size() < 16 * 1024; b = in.read()) {
            read.write(b);
            if (read.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                break;
            }
        }
        return read.toString(StandardCharsets.US_ASCII);
    }
}
