package io.lameduck.inject;

import io.lameduck.config.ConfigException;
import io.lameduck.http.AdminServer;
import io.lameduck.http.ListenerBindException;
import io.lameduck.http.MetricsResponse;
import io.lameduck.http.ServerException;
import io.lameduck.time.Durations;
import io.lameduck.time.TimeSource;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.BindException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The injector's listeners: HTTPS for the API server ({@link AdmissionHandler} at {@code /mutate}) and plain
 * HTTP for {@code /metrics} and {@code /healthz}. Connections idle longer than {@link #IDLE_TIMEOUT} are closed,
 * which bounds how long a slow or stuck client can hold a thread.
 */
public final class InjectorServer {
    private static final Logger LOG = LoggerFactory.getLogger(InjectorServer.class);
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
    /** Set once the injector is going away: every admission answer then closes its connection. */
    private volatile boolean closing;

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
                if (closing) {
                    // The API server pools its connections to the webhook; one it keeps sending on after the Service moved
                    // would meet the listener's close and fail open (a POST is not retried): closed here, after an answer.
                    response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
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

    /**
     * Stops the way Lameduck asks of every app: keeps answering admissions for {@code keepServing} after SIGTERM, while
     * the Service's endpoints and the API server's pooled connections move to the other replicas, each answer closing
     * its connection; then {@link #stop()}. A pod created meanwhile is still injected instead of coming up without the
     * sidecar (measured on the node during helm upgrade: 1 of 13 pods uninjected with no delay).
     */
    public void stopAfter(Duration keepServing, TimeSource time) throws Exception {
        closing = true;
        if (!keepServing.isZero()) {
            LOG.info("stopping: answering admissions for {} more (each on a closing connection) while the API server moves to "
                    + "the other replicas", Durations.format(keepServing));
            time.sleep(keepServing);
        }
        stop();
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
