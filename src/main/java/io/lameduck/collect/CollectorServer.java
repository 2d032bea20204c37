package io.lameduck.collect;

import io.lameduck.http.AdminServer;
import io.lameduck.http.Json;
import io.lameduck.http.ListenerBindException;
import io.lameduck.http.MetricsResponse;
import io.lameduck.http.ServerException;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.BindException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The collector's one plain-HTTP listener: {@code /metrics}, {@code /healthz} (alive), {@code /readyz} (state loaded,
 * existing Events counted) and {@code GET /terminations?namespace=&workload=&limit=} (recent terminations, newest
 * first, as JSON; {@code kubectl get --raw} reaches it through the API server's service proxy). Bad parameters are a
 * 400 that says what is allowed.
 */
public final class CollectorServer {
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 1000;
    private static final int MAX_NAME = 253;
    private static final Set<String> PARAMETERS = Set.of("namespace", "workload", "limit");

    private final Server server;
    private final ServerConnector connector;

    public CollectorServer(String host, int port, Collector collector, PrometheusRegistry registry) {
        QueuedThreadPool threads = new QueuedThreadPool(16, 2);
        threads.setName("lameduck-collector-http");
        server = new Server(threads, null, AdminServer.unpooledBuffers());
        server.setStopTimeout(Duration.ofSeconds(5).toMillis());
        connector = new ServerConnector(server, 1, 1);
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        server.addConnector(connector);
        server.setHandler(new Routes(collector, registry));
    }

    public void start() throws ListenerBindException, ServerException {
        try {
            server.start();
        } catch (IOException e) {
            if (e.getCause() instanceof BindException || e instanceof BindException) {
                throw new ListenerBindException("cannot listen on port " + connector.getPort() + ": " + e.getMessage(), e);
            }
            throw new ServerException("the collector's server failed to start: " + e.getMessage(), e);
        } catch (Exception e) {
            throw new ServerException("the collector's server failed to start: " + e.getMessage(), e);
        }
    }

    public int port() {
        return connector.getLocalPort();
    }

    public void stop() throws Exception {
        server.stop();
    }

    public void join() throws InterruptedException {
        server.join();
    }

    private static final class Routes extends Handler.Abstract {
        private final Collector collector;
        private final PrometheusRegistry registry;

        Routes(Collector collector, PrometheusRegistry registry) {
            this.collector = collector;
            this.registry = registry;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws IOException {
            String path = Request.getPathInContext(request);
            if (!"GET".equals(request.getMethod()) && !"HEAD".equals(request.getMethod())) {
                response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
                return text(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "method " + request.getMethod() + " not allowed; use GET\n");
            }
            switch (path) {
                case "/healthz":
                    return text(response, callback, 200, "ok\n");
                case "/readyz":
                    return collector.ready() ? text(response, callback, 200, "ready\n")
                            : text(response, callback, 503, "not ready: loading the state or listing the report Events\n");
                case "/metrics":
                    return MetricsResponse.write(registry, response, callback);
                case "/terminations":
                    return terminations(request, response, callback);
                default:
                    return text(response, callback, 404, "not found: " + (path.length() > 100 ? path.substring(0, 100) + "…" : path)
                            + "; endpoints: /terminations, /metrics, /healthz, /readyz\n");
            }
        }

        private boolean terminations(Request request, Response response, Callback callback) {
            Fields query;
            try {
                query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
            } catch (RuntimeException e) {
                return error(response, callback, "the query string is not valid UTF-8 form encoding");
            }
            for (Fields.Field field : query) {
                if (!PARAMETERS.contains(field.getName())) {
                    return error(response, callback, "unknown parameter " + shortened(field.getName()) + "; expected namespace, workload, limit");
                }
                if (field.getValues().size() > 1) {
                    return error(response, callback, "parameter " + field.getName() + " given more than once");
                }
            }
            String namespace = query.getValue("namespace");
            String workload = query.getValue("workload");
            for (String value : new String[] {namespace, workload}) {
                if (value != null && (value.isEmpty() || value.length() > MAX_NAME)) {
                    return error(response, callback, "namespace and workload must be names of 1 to " + MAX_NAME + " characters");
                }
            }
            int limit = DEFAULT_LIMIT;
            String given = query.getValue("limit");
            if (given != null) {
                try {
                    limit = Integer.parseInt(given);
                } catch (NumberFormatException e) {
                    limit = -1;
                }
                if (limit < 1 || limit > MAX_LIMIT) {
                    return error(response, callback, "limit must be a whole number from 1 to " + MAX_LIMIT + "; got " + shortened(given));
                }
            }
            List<Termination> recent = collector.recent(namespace, workload, limit);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("count", recent.size());
            body.put("terminations", recent);
            return json(response, callback, 200, body);
        }

        private static String shortened(String value) {
            return value.length() > 40 ? value.substring(0, 40) + "…" : value;
        }

        private static boolean error(Response response, Callback callback, String message) {
            return json(response, callback, 400, Map.of("error", message));
        }

        private static boolean json(Response response, Callback callback, int status, Object body) {
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap((Json.write(body) + "\n").getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }

        private static boolean text(Response response, Callback callback, int status, String body) {
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
