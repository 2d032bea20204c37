package io.lameduck.http;

import io.lameduck.drain.DrainReport;
import io.lameduck.drain.Trigger;
import io.lameduck.restart.RestartStatus;
import java.util.concurrent.CompletableFuture;
import java.net.InetAddress;
import java.util.function.Supplier;
import io.lameduck.drain.DrainCoordinator;
import io.lameduck.maintenance.Maintenance;
import io.lameduck.lifecycle.Lifecycle;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import java.io.IOException;
import java.net.BindException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The admin HTTP server (Jetty 12, ee10 servlets): probes, status, maintenance, preStop and metrics.
 * Stops gracefully: in-flight requests (such as {@code /prestop} callers waiting for their report)
 * finish within the time given to {@link #stop}.
 */
public final class AdminServer {
    /**
     * What the endpoints read and control.
     *
     * @param readyWhileStarting {@code /readyz} passes before READY (CREATED, STARTING): only when the pod cannot be
     *     Ready until the agent marks it serving (its readiness gate) and no earlier run of the agent in this pod can have
     *     marked it (see {@code FirstStart}); the container is then ready while the agent connects, and the pod is Ready
     *     as soon as the gate is set
     */
    public record Wiring(
            Lifecycle lifecycle, Maintenance maintenance, DrainCoordinator drains, Map<String, Object> configSummary,
            String version, Prestop prestop, Supplier<RestartStatus> restart, boolean readyWhileStarting) {
        /** Without restart cycles: every {@code /prestop} starts or joins the drain; {@code /readyz} passes only when READY. */
        public Wiring(Lifecycle lifecycle, Maintenance maintenance, DrainCoordinator drains, Map<String, Object> configSummary,
                String version) {
            this(lifecycle, maintenance, drains, configSummary, version, (trigger, forGood) -> drains.trigger(trigger),
                    () -> RestartStatus.NONE, false);
        }
    }

    /** What a {@code /prestop} starts: the drain, or a restart cycle when the pod is not going away. */
    @FunctionalInterface
    public interface Prestop {
        /**
         * @param forGood {@code final=true}: a deliberate drain for good, whatever the pod's state
         * @return the report the caller gets; never completes exceptionally
         */
        CompletableFuture<DrainReport> prestop(Trigger trigger, boolean forGood);
    }

    /** Listener settings and security. */
    /** @param gateway the pod's default gateway when {@code /prestop} trusts it (security.trustGateway) */
    public record Settings(String host, int port, String nodeIp, Optional<String> token, Optional<InetAddress> gateway) {
        public Settings(String host, int port, String nodeIp, Optional<String> token) {
            this(host, port, nodeIp, token, Optional.empty());
        }
    }

    /**
     * The most a request line plus headers may take: more is answered 431 (414 when the request line alone is too long)
     * before any of it reaches a servlet. Jetty's default, stated here because probes depend on it: a client cannot
     * make the agent buffer more than this per connection while it trickles its headers.
     */
    static final int MAX_REQUEST_HEADER_BYTES = 8 * 1024;

    private final Server server;
    private final ServerConnector connector;
    private final String host;
    private final int port;
    /** Holds the {@link StartingHandler} until {@link #serve} puts the endpoints in its place (dynamic: also while running). */
    private final Handler.Wrapper endpoints;

    public AdminServer(Settings settings, Wiring wiring, Optional<HttpServlet> metricsServlet, RequestObserver observer) {
        this(settings, wiring, metricsServlet, observer, PrestopAccess.STANDALONE);
    }

    /** @param prestop lets {@code /prestop} through from anyone once the pod is being deleted; counts refusals */
    public AdminServer(Settings settings, Wiring wiring, Optional<HttpServlet> metricsServlet, RequestObserver observer,
            PrestopAccess prestop) {
        this(settings, wiring, metricsServlet, observer, prestop, new LongAdder());
    }

    /** @param accepted counts the connections the server accepts (the agent's share of the pod's, see {@code RecentAccepts}) */
    public AdminServer(Settings settings, Wiring wiring, Optional<HttpServlet> metricsServlet, RequestObserver observer,
            PrestopAccess prestop, LongAdder accepted) {
        this(settings.host(), settings.port(), accepted, wiring.readyWhileStarting());
        serve(settings, wiring, metricsServlet, observer, prestop);
    }

    /** The listener alone, answering as {@link StartingHandler} until {@link #serve}; nothing listens until {@link #start}. */
    public static AdminServer notListening(String host, int port, LongAdder accepted, boolean readyWhileStarting) {
        return new AdminServer(host, port, accepted, readyWhileStarting);
    }

    private AdminServer(String host, int port, LongAdder accepted, boolean readyWhileStarting) {
        this.host = host;
        this.port = port;
        QueuedThreadPool threads = new QueuedThreadPool(32, 2);
        threads.setName("lameduck-http");
        server = new Server(threads, null, unpooledBuffers());
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(MAX_REQUEST_HEADER_BYTES);
        connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(host);
        connector.setPort(port);
        connector.addEventListener(new Connection.Listener() {
            @Override
            public void onOpened(Connection connection) {
                accepted.increment();
            }
        });
        server.addConnector(connector);
        endpoints = new Handler.Wrapper(true, new StartingHandler(readyWhileStarting));
        server.setHandler(new GracefulHandler(endpoints));
        server.setErrorHandler(new JsonErrorHandler());
        server.setStopAtShutdown(false); // the agent decides when to stop, after the drain
    }

    /**
     * Listens at once and answers the probes ({@link StartingHandler}) until {@link #serve} installs the endpoints: the
     * agent calls it before it connects to the Kubernetes API, so that the kubelet's probes pass while it connects.
     */
    public static AdminServer listenEarly(String host, int port, LongAdder accepted, boolean readyWhileStarting)
            throws ListenerBindException, ServerException {
        AdminServer early = notListening(host, port, accepted, readyWhileStarting);
        early.start();
        return early;
    }

    /**
     * Installs the endpoints (probes, status, maintenance, preStop, metrics) in place of the {@link StartingHandler},
     * before or after {@link #start}; requests that arrive from then on reach them. {@code settings}' host and port are
     * those the listener was built with.
     *
     * @return this server
     */
    public AdminServer serve(Settings settings, Wiring wiring, Optional<HttpServlet> metricsServlet, RequestObserver observer,
            PrestopAccess prestop) {
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        FilterHolder filter = new FilterHolder(new RequestFilter(observer));
        filter.setAsyncSupported(true);
        context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST));
        ServletHolder admin = new ServletHolder("admin", new AdminServlet(wiring,
                new ControlAccess(settings.nodeIp(), settings.token(), prestop.deletion(), settings.gateway()), prestop.refused()));
        admin.setAsyncSupported(true);
        context.addServlet(admin, "/*");
        metricsServlet.ifPresent(servlet -> context.addServlet(new ServletHolder("metrics", servlet), "/metrics"));
        endpoints.setHandler(context);
        if (server.isStarted() && !context.isStarted()) {
            try {
                context.start(); // on a running listener the wrapper installs it but leaves starting it to us
            } catch (Exception e) {
                throw new IllegalStateException("the admin endpoints failed to start: " + rootMessage(e), e);
            }
        }
        return this;
    }

    /**
     * Buffers that are never reused. Jetty 12.1.14 releases a connection's request buffer twice on some error paths (an
     * oversized request line or headers: "IllegalStateException: already released" from HttpConnection.onFillable); a
     * pooling pool then hands that one buffer to two connections, and one connection's bytes are parsed as another's
     * request (AdminServerTest saw a 1 MiB request line answered 431 instead of 414, and a 60-byte probe answered 431,
     * in 2 of 12 runs). Without reuse a double release frees nothing twice. The admin port serves a few requests a
     * second, so allocating each buffer costs nothing that matters, and the pool no longer keeps buffers in every pod.
     */
    public static ByteBufferPool unpooledBuffers() {
        return new ByteBufferPool.NonPooling();
    }

    /** Starts listening; nothing to do when already listening ({@link #listenEarly}). */
    public void start() throws ListenerBindException, ServerException {
        if (server.isStarted()) {
            return;
        }
        try {
            server.start();
        } catch (Exception e) {
            stopQuietly();
            if (hasBindCause(e)) {
                throw new ListenerBindException("cannot listen on " + host + ":" + port + " ("
                        + rootMessage(e) + "); another process holds the port: choose another with server.port or LAMEDUCK_SERVER_PORT", e);
            }
            throw new ServerException("the admin server failed to start: " + rootMessage(e), e);
        }
    }

    /** Whether it accepts connections ({@link #start} or {@link #listenEarly} done, not stopped). */
    public boolean listening() {
        return server.isStarted();
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /**
     * Stops accepting, lets in-flight requests finish for at most {@code grace}, then closes. Connections between
     * requests (the kubelet's preStop client keeps the one its {@code /prestop} came on, a scraper's, a client's pool)
     * are closed at once ({@link IdleConnectionCloser}); one whose request is in progress is closed after Jetty's
     * shutdown idle timeout without a byte (1 s), or half the grace if shorter (a stop after a spent deadline, grace
     * {@code Agent.MIN_STOP_GRACE}, would otherwise time out on it).
     */
    public void stop(Duration grace) throws ServerException {
        long millis = Math.max(1, grace.toMillis());
        connector.setShutdownIdleTimeout(Math.max(1, Math.min(millis / 2, connector.getShutdownIdleTimeout())));
        server.setStopTimeout(millis);
        IdleConnectionCloser closer = IdleConnectionCloser.start(connector);
        try {
            server.stop();
        } catch (Exception e) {
            throw new ServerException("the admin server did not stop cleanly: " + rootMessage(e), e);
        } finally {
            closer.close();
        }
    }

    private void stopQuietly() {
        try {
            server.stop();
        } catch (Exception ignored) {
            // already failing; the start error is the one to report
        }
    }

    private static boolean hasBindCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException || (t instanceof IOException && String.valueOf(t.getMessage()).startsWith("Failed to bind"))) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }

    /** Errors Jetty produces outside the servlet (bad URIs, huge headers, exceptions) are JSON too. */
    private static final class JsonErrorHandler extends ErrorHandler {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            int status = response.getStatus() >= 400 ? response.getStatus() : 500;
            Object cause = request.getAttribute(ERROR_MESSAGE);
            if (status == HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505) {
                // Jetty's parser answers 505 for any request line whose last token is not a version it knows, e.g.
                // "OPTIONS*  HTTP/1.1" (found by the fuzzer). That is a malformed request: a 4xx, as for all bad input.
                status = HttpStatus.BAD_REQUEST_400;
                response.setStatus(status);
                cause = "malformed request line: expected METHOD TARGET HTTP/1.x";
            }
            // A 4xx message from Jetty says what was wrong with the request; a 5xx one is our internals, for the log only.
            String error = cause == null || status >= 500 ? "request could not be processed" : cause.toString();
            String body = Json.write(Map.of("status", status, "error", error)) + "\n";
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
