package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.drain.HookFailedException;
import io.lameduck.time.Durations;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls the application over HTTP, e.g. {@code POST /drain}, and checks the status: exactly {@code expectStatus}, or
 * any 2xx when that is 0. Redirects are not followed (a redirect is reported as the status it is).
 *
 * <p>One request per connection, sent with {@code Connection: close} and closed as soon as the status line is read.
 * A pooling client (such as the JDK's {@code HttpClient}, which Java 17 cannot close) would leave a keep-alive
 * connection to the app port open, and a {@code wait-idle} hook on that port would then wait for the agent's own
 * connection.
 */
final class HttpDrainHook extends AbstractDrainHook {
    private static final Logger LOG = LoggerFactory.getLogger(HttpDrainHook.class);
    /** How often a blocked read wakes up to notice an interrupt (socket reads ignore interrupts). */
    private static final Duration READ_SLICE = Duration.ofMillis(50);
    private static final int MAX_STATUS_LINE = 8 * 1024;

    private final HttpHook spec;

    HttpDrainHook(HttpHook spec) {
        super(spec);
        this.spec = spec;
    }

    @Override
    public void run(Duration budget) throws HookFailedException, InterruptedException {
        Duration timeout = spec.readTimeout().compareTo(budget) <= 0 ? spec.readTimeout() : budget;
        long giveUpAt = System.nanoTime() + timeout.toNanos();
        int status;
        try (Socket socket = connect(timeout)) {
            socket.getOutputStream().write(request().getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            socket.setSoTimeout((int) READ_SLICE.toMillis());
            status = readStatus(socket.getInputStream(), giveUpAt, timeout);
        } catch (ConnectException e) {
            throw new HookFailedException(target() + ": could not connect (" + (e.getMessage() == null ? "connection refused" : e.getMessage())
                    + "); is the application listening on " + spec.url().getHost() + ":" + port() + "?", e);
        } catch (SocketTimeoutException e) {
            throw new HookFailedException(target() + ": could not connect within the connect timeout of "
                    + Durations.format(spec.connectTimeout()), e);
        } catch (IOException e) {
            throw new HookFailedException(target() + ": request failed: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()), e);
        }
        checkStatus(status);
        LOG.debug("{}: {} answered {}", this, target(), status);
    }

    private Socket connect(Duration timeout) throws IOException {
        Duration connectTimeout = spec.connectTimeout().compareTo(timeout) <= 0 ? spec.connectTimeout() : timeout;
        Socket plain = new Socket();
        try {
            plain.connect(new InetSocketAddress(spec.url().getHost(), port()), (int) Math.max(1, connectTimeout.toMillis()));
            if (!"https".equals(spec.url().getScheme())) {
                return plain;
            }
            plain.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            SSLSocket tls = (SSLSocket) ((SSLSocketFactory) SSLSocketFactory.getDefault())
                    .createSocket(plain, spec.url().getHost(), port(), true);
            tls.startHandshake();
            return tls;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    private String request() throws HookFailedException {
        String path = spec.url().getRawPath() == null || spec.url().getRawPath().isEmpty() ? "/" : spec.url().getRawPath();
        if (spec.url().getRawQuery() != null) {
            path += "?" + spec.url().getRawQuery();
        }
        StringBuilder request = new StringBuilder()
                .append(spec.method()).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(spec.url().getHost()).append(spec.url().getPort() == -1 ? "" : ":" + spec.url().getPort()).append("\r\n")
                .append("User-Agent: lameduck\r\n")
                .append("Connection: close\r\n");
        if (!spec.method().equals("GET") && !spec.method().equals("HEAD")) {
            request.append("Content-Length: 0\r\n");
        }
        for (Map.Entry<String, String> header : spec.headers().entrySet()) {
            if ((header.getKey() + header.getValue()).chars().anyMatch(c -> c == '\r' || c == '\n')) {
                throw new HookFailedException(target() + ": header \"" + header.getKey() + "\" contains a line break; remove it");
            }
            request.append(header.getKey()).append(": ").append(header.getValue()).append("\r\n");
        }
        return request.append("\r\n").toString();
    }

    /** Reads "HTTP/1.1 200 OK" and returns 200; wakes up every slice to honour interrupts and the timeout. */
    private int readStatus(InputStream in, long giveUpAt, Duration timeout) throws IOException, HookFailedException, InterruptedException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            if (Thread.interrupted()) {
                throw new InterruptedException("cancelled while waiting for " + target());
            }
            if (System.nanoTime() - giveUpAt >= 0) {
                throw new HookFailedException(target() + ": no response within " + Durations.format(timeout));
            }
            int b;
            try {
                b = in.read();
            } catch (SocketTimeoutException slice) {
                continue;
            }
            if (b == -1) {
                throw new HookFailedException(target() + ": the application closed the connection without answering");
            }
            if (b == '\n') {
                break;
            }
            if (line.size() > MAX_STATUS_LINE) {
                throw new HookFailedException(target() + ": the answer does not start with an HTTP status line");
            }
            line.write(b);
        }
        String[] parts = line.toString(StandardCharsets.ISO_8859_1).trim().split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/") || !parts[1].matches("\\d{3}")) {
            throw new HookFailedException(target() + ": the answer does not start with an HTTP status line");
        }
        return Integer.parseInt(parts[1]);
    }

    private void checkStatus(int status) throws HookFailedException {
        boolean ok = spec.expectStatus() == 0 ? status >= 200 && status < 300 : status == spec.expectStatus();
        if (!ok) {
            String expected = spec.expectStatus() == 0 ? "any 2xx" : String.valueOf(spec.expectStatus());
            throw new HookFailedException(target() + " answered status " + status + ", expected " + expected);
        }
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
