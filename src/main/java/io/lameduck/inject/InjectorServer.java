package io.lameduck.inject;

import io.lameduck.config.ConfigException;
import io.lameduck.http.AdminServer;
import io.lameduck.http.ListenerBindException;
import io.lameduck.http.MetricsResponse;
import io.lameduck.http.ServerException;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.BindException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The injector's listeners: HTTPS for the API server ({@link AdmissionHandler} at {@code /mutate}) and plain
 * HTTP for {@code /metrics} and {@code /healthz}. Connections idle longer than {@link #IDLE_TIMEOUT} are closed,
 * which bounds how long a slow or stuck client can hold a thread.
 */
public final class InjectorServer {
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);

    /** How often the certificate files are compared with those loaded (a renewal is picked up within this). */
    static final Duration CERTIFICATE_CHECK = Duration.ofSeconds(10);

    /** Where to listen, the PEM files of the serving certificate, and how often to check them for a renewal. */
    public record Settings(String host, int port, int metricsPort, Path certFile, Path keyFile, Duration certificateCheck) {
        public Settings(String host, int port, int metricsPort, Path certFile, Path keyFile) {
            this(host, port, metricsPort, certFile, keyFile, CERTIFICATE_CHECK);
        }
    }

    private final Server server;
    private final ServerConnector https;
    private final ServerConnector metrics;
    private final CertificateReloader reloader;

    public InjectorServer(Settings settings, AdmissionHandler admission, PrometheusRegistry registry) throws ConfigException {
        QueuedThreadPool threads = new QueuedThreadPool(32, 2);
        threads.setName("lameduck-injector");
        server = new Server(threads, null, AdminServer.unpooledBuffers()); // one connection's bytes never in another's
        server.setStopTimeout(STOP_TIMEOUT.toMillis());

        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setKeyStore(PemKeyStore.load(settings.certFile(), settings.keyFile()));
        tls.setKeyStorePassword(new String(PemKeyStore.PASSWORD));
        tls.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        HttpConfiguration httpsConfig = new HttpConfiguration();
        httpsConfig.setSendServerVersion(false);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        secure.setSniHostCheck(false); // the API server calls by Service DNS name or, in tests, by IP
        httpsConfig.addCustomizer(secure);
        https = new ServerConnector(server, 1, 1, new SslConnectionFactory(tls, "http/1.1"), new HttpConnectionFactory(httpsConfig));
        https.setHost(settings.host());
        https.setPort(settings.port());
        https.setIdleTimeout(IDLE_TIMEOUT.toMillis());

        metrics = new ServerConnector(server, 1, 1);
        metrics.setHost(settings.host());
        metrics.setPort(settings.metricsPort());
        metrics.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        server.setConnectors(new org.eclipse.jetty.server.Connector[] {https, metrics});

        Handler metricsHandler = new MetricsHandler(registry);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                if (request.getConnectionMetaData().getConnector() == metrics) {
                    return metricsHandler.handle(request, response, callback);
                }
                return admission.handle(request, response, callback);
            }
        });
        server.addBean(admission);
        reloader = new CertificateReloader(settings.certFile(), settings.keyFile(), settings.certificateCheck(), tls,
                InjectorMetrics.certificateReloads(registry));
    }

    public void start() throws ListenerBindException, ServerException {
        try {
            server.start();
            reloader.start();
        } catch (IOException e) {
            if (e.getCause() instanceof BindException || e instanceof BindException) {
                throw new ListenerBindException("cannot listen on port " + https.getPort() + " or " + metrics.getPort() + ": " + e.getMessage(), e);
            }
            throw new ServerException("the injector's server failed to start: " + e.getMessage(), e);
        } catch (Exception e) {
            throw new ServerException("the injector's server failed to start: " + e.getMessage(), e);
        }
    }

    public int port() {
        return https.getLocalPort();
    }

    public int metricsPort() {
        return metrics.getLocalPort();
    }

    /** Finishes in-flight admissions within the stop timeout, then closes the listeners. */
    public void stop() throws Exception {
        reloader.close();
        server.stop();
    }

    public void join() throws InterruptedException {
        server.join();
    }

    private static final class MetricsHandler extends Handler.Abstract {
        private final PrometheusRegistry registry;

        MetricsHandler(PrometheusRegistry registry) {
            this.registry = registry;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws IOException {
            String path = Request.getPathInContext(request);
            if ("/healthz".equals(path)) {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                response.write(true, ByteBuffer.wrap("ok\n".getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
            if (!"/metrics".equals(path)) {
                response.setStatus(HttpStatus.NOT_FOUND_404);
                response.write(true, ByteBuffer.wrap("not found: /metrics or /healthz\n".getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
            return MetricsResponse.write(registry, response, callback);
        }
    }
}
