package io.lameduck.metrics;

import io.lameduck.drain.DrainListener;
import io.lameduck.maintenance.MaintenanceListener;
import io.lameduck.restart.RestartCycle;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.exporter.servlet.jakarta.PrometheusMetricsServlet;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import jakarta.servlet.http.HttpServlet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's Prometheus metrics, all registered in the registry given to the constructor.
 *
 * <p>Contract:
 * <ol>
 *   <li>Add {@link #lifecycleListener()} to the {@link Lifecycle} before it leaves CREATED, and
 *       {@link #drainListener()} to the drain coordinator and {@link #maintenanceListener()} to maintenance, so every event is seen.
 *   <li>The admin server calls {@link #recordHttpRequest} once per request and serves {@link #servlet()}
 *       at {@code /metrics}.
 *   <li>The deadline and connection gauges are computed at scrape time from the suppliers set with
 *       {@link #setDeadlineRemaining} and {@link #sampleConnections}; until then they are absent.
 * </ol>
 * Label values are bounded: states, triggers, outcomes and steps are enums; hooks and ports come from the
 * configuration; HTTP paths outside the admin API are counted as {@code other}.
 */
public final class AgentMetrics {
    private static final Logger LOG = LoggerFactory.getLogger(AgentMetrics.class);

    private final PrometheusRegistry registry;
    private final LifecycleMetrics lifecycle;
    private final DrainMetrics drain;
    private final HttpMetrics http;
    private volatile Supplier<Optional<Duration>> deadlineRemaining = Optional::empty;
    private volatile Map<Integer, IntSupplier> connections = Map.of();

    /**
     * @param registry where every metric is registered; tests pass a fresh one
     * @param version exported as {@code lameduck_info{version}}
     * @param jvm whether to register the standard JVM metrics too
     */
    public AgentMetrics(PrometheusRegistry registry, String version, boolean jvm) {
        this.registry = Objects.requireNonNull(registry, "registry");
        Info.builder()
                .name("lameduck_info")
                .help("Lameduck agent build information")
                .labelNames("version")
                .register(registry)
                .setLabelValues(Objects.requireNonNull(version, "version"));
        lifecycle = new LifecycleMetrics(registry);
        drain = new DrainMetrics(registry);
        http = new HttpMetrics(registry);
        GaugeWithCallback.builder()
                .name("lameduck_drain_deadline_remaining")
                .unit(Unit.SECONDS)
                .help("Time left until the drain deadline; present only while DRAINING")
                .callback(callback -> remainingSeconds().ifPresent(seconds -> callback.call(seconds)))
                .register(registry);
        GaugeWithCallback.builder()
                .name("lameduck_app_connections")
                .help("Established TCP connections to the application port; present only for configured ports")
                .labelNames("port")
                .callback(callback -> sampleEach((port, count) -> callback.call(count, port.toString())))
                .register(registry);
        if (jvm) {
            JvmMetrics.builder().register(registry);
        }
    }

    /** Keeps {@code lameduck_state} in step with the lifecycle. */
    public Lifecycle.Listener lifecycleListener() {
        return lifecycle;
    }

    /** Records drains, their steps and hooks. */
    public DrainListener drainListener() {
        return drain;
    }

    /** Counts restart cycles by trigger and how they ended ({@code lameduck_restart_cycles_total}). */
    public RestartCycle.Listener restartListener() {
        return drain;
    }

    /** Keeps {@code lameduck_maintenance} in step with maintenance. */
    public MaintenanceListener maintenanceListener() {
        return drain;
    }

    /**
     * Records one admin server request.
     *
     * @param path the request path without query; anything but the admin endpoints is counted as {@code other}
     * @param status the HTTP status code sent
     */
    public void recordHttpRequest(String path, int status, Duration duration) {
        http.record(path, status, duration);
    }

    /** Counts a refused {@code /prestop} in {@code lameduck_prestop_refused_total}. */
    public void recordPrestopRefused() {
        http.prestopRefused();
    }

    /**
     * Sets where {@code lameduck_drain_deadline_remaining_seconds} comes from, e.g.
     * {@code () -> coordinator.deadline().map(Deadline::remaining)}. Read at scrape time, and only while
     * the lifecycle is DRAINING.
     */
    public void setDeadlineRemaining(Supplier<Optional<Duration>> remaining) {
        deadlineRemaining = Objects.requireNonNull(remaining, "remaining");
    }

    /**
     * Sets the application ports whose established connections {@code lameduck_app_connections{port}}
     * reports, each read at scrape time. Replaces any earlier set; a supplier that throws or returns a
     * negative count leaves its port out of that scrape.
     */
    public void sampleConnections(Map<Integer, IntSupplier> byPort) {
        connections = Map.copyOf(byPort);
    }

    /** The exporter servlet for {@code /metrics}, bound to this registry. */
    public HttpServlet servlet() {
        return new PrometheusMetricsServlet(registry);
    }

    /** The current exposition in the Prometheus text format (what {@code promtool check metrics} reads). */
    public String scrapeText() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private Optional<Double> remainingSeconds() {
        if (lifecycle.current() != State.DRAINING) {
            return Optional.empty();
        }
        try {
            return deadlineRemaining.get().map(Seconds::of);
        } catch (RuntimeException e) {
            LOG.debug("deadline supplier failed; gauge left out of this scrape: {}", e.toString());
            return Optional.empty();
        }
    }

    private interface PortSample {
        void accept(Integer port, int count);
    }

    private void sampleEach(PortSample sample) {
        for (Map.Entry<Integer, IntSupplier> entry : new TreeMap<>(connections).entrySet()) {
            try {
                int count = entry.getValue().getAsInt();
                if (count >= 0) {
                    sample.accept(entry.getKey(), count);
                }
            } catch (RuntimeException e) {
                LOG.debug("connection count for port {} failed; left out of this scrape: {}", entry.getKey(), e.toString());
            }
        }
    }
}
