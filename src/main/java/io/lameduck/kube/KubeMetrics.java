package io.lameduck.kube;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.time.Duration;

/** The Kubernetes integration's metrics, registered once on the agent's registry. */
final class KubeMetrics {
    private final Counter requests;
    private final Histogram withdrawals;

    KubeMetrics(PrometheusRegistry registry) {
        requests = Counter.builder()
                .name("lameduck_kube_requests_total")
                .help("Requests the agent made to the Kubernetes API, by verb, resource and HTTP status code "
                        + "(error: no answer, timeout: cut off by the agent's own time limit)")
                .labelNames("verb", "resource", "code")
                .register(registry);
        withdrawals = Histogram.builder()
                .name("lameduck_withdrawal_duration_seconds")
                .unit(Unit.SECONDS)
                .help("Time from starting a withdrawal until the EndpointSlices confirmed it (confirmed=true) "
                        + "or the attempt ended without confirmation (confirmed=false)")
                .labelNames("strategy", "confirmed")
                .classicOnly()
                .classicUpperBounds(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
                .register(registry);
    }

    void request(String verb, String resource, String code) {
        requests.labelValues(verb, resource, code).inc();
    }

    void withdrawal(String strategy, boolean confirmed, Duration took) {
        withdrawals.labelValues(strategy, Boolean.toString(confirmed)).observe(took.toNanos() / 1e9);
    }
}
