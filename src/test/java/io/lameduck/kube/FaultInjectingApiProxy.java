package io.lameduck.kube;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.internal.SSLUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * A fault-injecting HTTP proxy in front of the real kube-apiserver: the agent's client talks plain HTTP to it,
 * it forwards each request (with the agent's own bearer token, so RBAC is the real Role's) over TLS to the API
 * server, streaming the answer (watches included), unless {@link #rule} says otherwise for that request:
 * answer a status of its own, wait first, or end a streamed answer early (a watch dropped by the network).
 * {@link #stop()} makes the API unreachable (connection refused).
 */
final class FaultInjectingApiProxy implements AutoCloseable {
    /** What the proxy does with one request. */
    sealed interface Fault {
        Fault FORWARD = new Delay(Duration.ZERO);

        /** Answers {@code code} with a Kubernetes Status body instead of forwarding. */
        record Status(int code, String reason) implements Fault {}

        /** Waits, then forwards. */
        record Delay(Duration pause) implements Fault {}

        /** Forwards, but ends the answer (a watch stream) after {@code after}. */
        record Cut(Duration after) implements Fault {}
    }

    /** One request as the proxy saw it. */
    record Seen(String method, String path, String query, Fault fault) {
        boolean isWatch() {
            return query != null && query.contains("watch=true");
        }
    }

    @FunctionalInterface
    interface Rule {
        Fault decide(String method, String path, String query);
    }

    private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "transfer-encoding", "host", "upgrade",
            "keep-alive", "te", "trailer", "proxy-connection", "http2-settings");

    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread thread = new Thread(r, "fault-proxy");
        thread.setDaemon(true);
        return thread;
    });
    private final HttpClient upstream;
    private final URI target;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile Rule rule = (method, path, query) -> Fault.FORWARD;

    FaultInjectingApiProxy(Config apiServer) throws Exception {
        target = URI.create(apiServer.getMasterUrl());
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, SSLUtils.trustManagers(apiServer), null);
        upstream = HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1).build();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 100);
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void rule(Rule rule) {
        this.rule = rule;
    }

    List<Seen> seen() {
        return seen;
    }

    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getRawPath();
            String query = exchange.getRequestURI().getRawQuery();
            Fault fault = rule.decide(method, path, query);
            seen.add(new Seen(method, path, query, fault));
            if (fault instanceof Fault.Status status) {
                byte[] body = ("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"injected by the test proxy\","
                        + "\"reason\":\"" + status.reason() + "\",\"code\":" + status.code() + "}").getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(status.code(), body.length);
                exchange.getResponseBody().write(body);
                return;
            }
            if (fault instanceof Fault.Delay delay && !delay.pause().isZero()) {
                TimeUnit.NANOSECONDS.sleep(delay.pause().toNanos());
            }
            forward(exchange, method, query, fault instanceof Fault.Cut cut ? cut.after() : null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away (or the upstream did): nothing to answer
        }
    }

    private void forward(HttpExchange exchange, String method, String query, Duration cutAfter) throws IOException, InterruptedException {
        byte[] body = exchange.getRequestBody().readAllBytes();
        HttpRequest.Builder request = HttpRequest.newBuilder(target.resolve(exchange.getRequestURI().getRawPath()
                + (query == null ? "" : "?" + query)))
                .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        exchange.getRequestHeaders().forEach((name, values) -> {
            if (!HOP_BY_HOP.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                values.forEach(value -> request.header(name, value));
            }
        });
        HttpResponse<InputStream> response = upstream.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        response.headers().map().forEach((name, values) -> {
            if (!HOP_BY_HOP.contains(name.toLowerCase(java.util.Locale.ROOT)) && !name.startsWith(":")) {
                exchange.getResponseHeaders().put(name, values);
            }
        });
        exchange.sendResponseHeaders(response.statusCode(), 0); // chunked: watches stream
        long cutAt = cutAfter == null ? Long.MAX_VALUE : System.nanoTime() + cutAfter.toNanos();
        if (cutAfter != null) {
            // End the stream at the cut even when the upstream is silent: closing its input unblocks the copy.
            threads.submit(() -> {
                TimeUnit.NANOSECONDS.sleep(cutAfter.toNanos());
                response.body().close();
                return null;
            });
        }
        try (InputStream in = response.body(); OutputStream out = exchange.getResponseBody()) {
            byte[] buffer = new byte[8192];
            for (int n = in.read(buffer); n != -1 && System.nanoTime() - cutAt < 0; n = in.read(buffer)) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException cut) {
            // the cut closed the upstream stream under the copy
        }
    }

    @Override
    public void close() {
        stop();
        threads.shutdownNow();
    }
}
