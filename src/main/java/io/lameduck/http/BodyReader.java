package io.lameduck.http;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads request bodies without holding a server thread while the bytes trickle in (servlet async I/O), within a
 * size limit (413), a time limit (408) and a limit on how many are in flight at once (503). A caller whose body
 * never finishes therefore costs a connection and at most {@code maxBytes} of memory, never one of the threads
 * that answer {@code /livez} and {@code /readyz}; and the handler that runs once the body is complete is bounded
 * by the same permit, so slow control work cannot take all threads either.
 */
final class BodyReader {
    /** Runs once the whole body has arrived; an {@link RequestRejectedException} becomes the JSON error answer. */
    @FunctionalInterface
    interface BodyHandler {
        void handle(byte[] body) throws RequestRejectedException, IOException;
    }

    private static final Logger LOG = LoggerFactory.getLogger(BodyReader.class);
    private static final int CHUNK = 4096;

    private final int maxBytes;
    private final Duration timeout;
    private final Semaphore inFlight;
    private final int limit;

    BodyReader(int maxBytes, Duration timeout, int maxInFlight) {
        this.maxBytes = maxBytes;
        this.timeout = timeout;
        this.inFlight = new Semaphore(maxInFlight);
        this.limit = maxInFlight;
    }

    /** Starts reading; {@code handler} (or the error answer) completes the request later, on a server thread. */
    void read(HttpServletRequest request, HttpServletResponse response, BodyHandler handler) throws RequestRejectedException, IOException {
        long declared = request.getContentLengthLong();
        if (declared > maxBytes) {
            throw new RequestRejectedException(413, "request body of " + declared + " bytes is larger than the " + maxBytes + "-byte limit");
        }
        if (!inFlight.tryAcquire()) {
            throw new RequestRejectedException(503, "already " + limit + " control requests with a body in progress; retry shortly");
        }
        String requestId = (String) request.getAttribute(RequestFilter.REQUEST_ID_ATTRIBUTE);
        AsyncContext async = request.startAsync();
        async.setTimeout(Math.max(1, timeout.toMillis()));
        Exchange exchange = new Exchange(async, response, requestId, handler);
        async.addListener(exchange);
        ServletInputStream in = request.getInputStream();
        in.setReadListener(new ReadListener() {
            private final byte[] chunk = new byte[CHUNK];

            @Override
            public void onDataAvailable() throws IOException {
                while (in.isReady()) {
                    int n = in.read(chunk);
                    if (n < 0) {
                        return;
                    }
                    exchange.body.write(chunk, 0, n);
                    if (exchange.body.size() > maxBytes) {
                        exchange.fail(new RequestRejectedException(413, "request body is larger than the " + maxBytes + "-byte limit"));
                        return;
                    }
                }
            }

            @Override
            public void onAllDataRead() {
                exchange.finish();
            }

            @Override
            public void onError(Throwable error) {
                exchange.fail(new RequestRejectedException(400, "the request body ended before its declared length"));
            }
        });
    }

    /** One request's body and the guarantee that it is answered exactly once. */
    private final class Exchange implements AsyncListener {
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final AsyncContext async;
        private final HttpServletResponse response;
        private final String requestId;
        private final BodyHandler handler;
        private final AtomicBoolean answered = new AtomicBoolean();

        Exchange(AsyncContext async, HttpServletResponse response, String requestId, BodyHandler handler) {
            this.async = async;
            this.response = response;
            this.requestId = requestId;
            this.handler = handler;
        }

        void finish() {
            answer(null);
        }

        void fail(RequestRejectedException error) {
            answer(error);
        }

        private void answer(RequestRejectedException failure) {
            if (!answered.compareAndSet(false, true)) {
                return;
            }
            try {
                if (failure != null) {
                    response.setHeader("Connection", "close"); // the rest of the body is never read
                    AdminServlet.writeError(response, requestId, failure, null);
                } else {
                    try {
                        handler.handle(body.toByteArray());
                    } catch (RequestRejectedException e) {
                        AdminServlet.writeError(response, requestId, e, null);
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.info("could not answer request {}: {}", requestId, e.toString());
            } finally {
                inFlight.release();
                async.complete();
            }
        }

        @Override
        public void onTimeout(AsyncEvent event) {
            fail(new RequestRejectedException(408, "the request body did not arrive within " + timeout.toSeconds() + "s; send it at once"));
        }

        @Override
        public void onError(AsyncEvent event) {
            fail(new RequestRejectedException(400, "the request failed before its body was read"));
        }

        @Override
        public void onComplete(AsyncEvent event) {}

        @Override
        public void onStartAsync(AsyncEvent event) {}
    }
}
