package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.Durations;
import io.lameduck.drain.HookFailedException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls the application over HTTP, e.g. {@code POST /drain}, and checks the status: exactly {@code expectStatus}, or
 * any 2xx when that is 0. Redirects are not followed (a redirect is reported as the status it is).
 */
final class HttpDrainHook extends AbstractDrainHook {
    private static final Logger LOG = LoggerFactory.getLogger(HttpDrainHook.class);

    private final HttpHook spec;

    HttpDrainHook(HttpHook spec) {
        super(spec);
        this.spec = spec;
    }

    @Override
    public void run(Duration budget) throws HookFailedException, InterruptedException {
        Duration timeout = spec.readTimeout().compareTo(budget) <= 0 ? spec.readTimeout() : budget;
        HttpRequest request = request(timeout);
        // A client per run: its selector thread exists only while a drain uses it, not for the agent's lifetime.
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(spec.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        CompletableFuture<HttpResponse<Void>> call = client.sendAsync(request, HttpResponse.BodyHandlers.discarding());
        HttpResponse<Void> response;
        try {
            response = call.get();
        } catch (InterruptedException e) {
            // Cancelling the future aborts the exchange and closes its connection (JDK 16+), so nothing lingers.
            call.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            throw new HookFailedException(target() + ": " + describe(e.getCause(), timeout), e.getCause());
        }
        checkStatus(response.statusCode());
        LOG.debug("{}: {} answered {}", this, target(), response.statusCode());
    }

    private HttpRequest request(Duration timeout) throws HookFailedException {
        HttpRequest.Builder builder = HttpRequest.newBuilder(spec.url())
                .timeout(timeout)
                .method(spec.method(), HttpRequest.BodyPublishers.noBody());
        for (Map.Entry<String, String> header : spec.headers().entrySet()) {
            try {
                builder.header(header.getKey(), header.getValue());
            } catch (IllegalArgumentException e) {
                // The JDK client refuses some headers it manages itself (Host, Connection, Content-Length, ...).
                throw new HookFailedException(target() + ": header \"" + header.getKey() + "\" cannot be set ("
                        + e.getMessage() + "); remove it from the hook's headers");
            }
        }
        return builder.build();
    }

    private void checkStatus(int status) throws HookFailedException {
        boolean ok = spec.expectStatus() == 0 ? status >= 200 && status < 300 : status == spec.expectStatus();
        if (!ok) {
            String expected = spec.expectStatus() == 0 ? "any 2xx" : String.valueOf(spec.expectStatus());
            throw new HookFailedException(target() + " answered status " + status + ", expected " + expected);
        }
    }

    private String describe(Throwable cause, Duration timeout) {
        if (cause instanceof HttpConnectTimeoutException) {
            return "could not connect within the connect timeout of " + Durations.format(spec.connectTimeout());
        }
        if (cause instanceof HttpTimeoutException) {
            return "no response within " + Durations.format(timeout);
        }
        if (cause instanceof ConnectException) {
            // The JDK client often leaves the message empty when the port is closed.
            return "could not connect (" + (cause.getMessage() == null ? "connection refused" : cause.getMessage())
                    + "); is the application listening on " + spec.url().getHost() + ":" + port() + "?";
        }
        return "request failed: " + cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
    }

    private int port() {
        int port = spec.url().getPort();
        if (port != -1) {
            return port;
        }
        return "https".equals(spec.url().getScheme()) ? 443 : 80;
    }

    private String target() {
        return spec.method() + " " + spec.url();
    }
}
