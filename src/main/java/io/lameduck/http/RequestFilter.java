package io.lameduck.http;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.Level;

/**
 * Wraps every admin request: gives it an {@code X-Request-ID} (the caller's, when sane, else a new
 * one), writes one access-log line when it completes (also for async requests such as
 * {@code /prestop}), and reports it to the {@link RequestObserver}.
 */
final class RequestFilter extends HttpFilter {
    static final String REQUEST_ID = "X-Request-ID";
    static final String REQUEST_ID_ATTRIBUTE = "lameduck.requestId";
    private static final long serialVersionUID = 1L;
    private static final Pattern SANE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final Logger ACCESS = LoggerFactory.getLogger("io.lameduck.access");

    private final transient RequestObserver observer;

    RequestFilter(RequestObserver observer) {
        this.observer = observer;
    }

    @Override
    protected void doFilter(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        long start = System.nanoTime();
        String given = request.getHeader(REQUEST_ID);
        String requestId = given != null && SANE_ID.matcher(given).matches() ? given : UUID.randomUUID().toString();
        request.setAttribute(REQUEST_ID_ATTRIBUTE, requestId);
        response.setHeader(REQUEST_ID, requestId);
        response.setHeader("Cache-Control", "no-store");
        try {
            if (request.getRequestURI().equals("/metrics") && !request.getMethod().equals("GET")) {
                AdminServlet.writeError(response, requestId, new RequestRejectedException(405,
                        "method " + request.getMethod() + " is not allowed on /metrics; use GET"), "GET");
            } else {
                chain.doFilter(request, response);
            }
        } finally {
            if (request.isAsyncStarted()) {
                request.getAsyncContext().addListener(new CompletionLogger(request, response, requestId, start));
            } else {
                completed(request, response, requestId, start);
            }
        }
    }

    private void completed(HttpServletRequest request, HttpServletResponse response, String requestId, long start) {
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        MDC.put("requestId", requestId);
        try {
            ACCESS.atLevel(routine(request.getMethod(), request.getRequestURI(), response.getStatus()) ? Level.DEBUG : Level.INFO)
                    .log("{} {} {} {}ms from {}", request.getMethod(), request.getRequestURI(), response.getStatus(),
                            took.toMillis(), request.getRemoteAddr());
        } finally {
            MDC.remove("requestId");
        }
        observer.observe(request.getRequestURI(), response.getStatus(), took);
    }

    /**
     * A probe or a scrape that got the answer it expects: logged at DEBUG, because the kubelet and Prometheus ask many
     * times a minute for the life of the pod (about 55,000 INFO lines a day per pod). Not ready ({@code /readyz} 503) is
     * an expected answer too; anything else — a failing liveness check, a 4xx, a control request — stays at INFO.
     */
    static boolean routine(String method, String path, int status) {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return false;
        }
        return switch (path) {
            case "/livez", "/healthz", "/metrics", "/status" -> status / 100 == 2;
            case "/readyz" -> status / 100 == 2 || status == 503;
            default -> false;
        };
    }

    private final class CompletionLogger implements AsyncListener {
        private final HttpServletRequest request;
        private final HttpServletResponse response;
        private final String requestId;
        private final long start;

        CompletionLogger(HttpServletRequest request, HttpServletResponse response, String requestId, long start) {
            this.request = request;
            this.response = response;
            this.requestId = requestId;
            this.start = start;
        }

        @Override
        public void onComplete(AsyncEvent event) {
            completed(request, response, requestId, start);
        }

        @Override
        public void onTimeout(AsyncEvent event) {}

        @Override
        public void onError(AsyncEvent event) {}

        @Override
        public void onStartAsync(AsyncEvent event) {}
    }
}
