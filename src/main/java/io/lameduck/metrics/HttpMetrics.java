package io.lameduck.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.Set;

/** Admin server requests. Label values are bounded: any path we do not serve is counted as {@code other}. */
final class HttpMetrics {
    static final Set<String> KNOWN_PATHS =
            Set.of("/livez", "/healthz", "/readyz", "/status", "/maintenance", "/prestop", "/metrics");
    static final String OTHER = "other";

    private final Counter requests;
    private final Histogram duration;
    private final Counter prestopRefused;

    HttpMetrics(PrometheusRegistry registry) {
        requests = Counter.builder()
                .name("lameduck_http_requests_total")
                .help("Admin server requests by path (unknown paths are \"other\") and status code")
                .labelNames("path", "code")
                .register(registry);
        duration = DrainMetrics.secondsHistogram("lameduck_http_request_duration",
                "Admin server request duration by path (unknown paths are \"other\")", Buckets.HTTP, "path")
                .register(registry);
        prestopRefused = Counter.builder()
                .name("lameduck_prestop_refused_total")
                .help("/prestop calls answered 403 (not loopback, node IP or token, and the pod not being deleted); "
                        + "a refused preStop gets the app SIGTERMed undrained")
                .register(registry);
        prestopRefused.inc(0); // present from the start, so increase() sees the first refusal
    }

    void prestopRefused() {
        prestopRefused.inc();
    }

    void record(String path, int status, Duration elapsed) {
        String label = pathLabel(path);
        requests.labelValues(label, Integer.toString(status)).inc();
        duration.labelValues(label).observe(Math.max(0, Seconds.of(elapsed)));
    }

    static String pathLabel(String path) {
        return path != null && KNOWN_PATHS.contains(path) ? path : OTHER;
    }
}
