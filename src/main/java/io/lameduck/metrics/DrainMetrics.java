package io.lameduck.metrics;

import io.lameduck.drain.Cause;
import io.lameduck.drain.DrainListener;
import io.lameduck.drain.DrainOutcome;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.HookReport;
import io.lameduck.maintenance.MaintenanceListener;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.drain.Outcome;
import io.lameduck.drain.StepReport;
import io.lameduck.drain.TrafficReport;
import io.lameduck.drain.Trigger;
import io.lameduck.restart.RestartCycle;
import io.lameduck.restart.RestartStatus;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.List;

/** Drains, their steps and hooks, and the maintenance flag, recorded as events arrive. */
final class DrainMetrics implements DrainListener, MaintenanceListener, RestartCycle.Listener {
    /** How a restart cycle can end (see {@link io.lameduck.restart.RestartStatus#phase}). */
    private static final List<String> RESTART_ENDS = List.of("restored", "restored-without-restart", "superseded");
    private final Gauge maintenance;
    private final Counter restartCycles;
    private final Counter drains;
    private final Counter causes;
    private final Histogram drainDuration;
    private final Histogram stepDuration;
    private final Histogram hookDuration;
    private final Counter hookRuns;
    private final Histogram lastNewConnection;
    private final Histogram lastRequest;
    private final Counter trafficNotStopped;

    DrainMetrics(PrometheusRegistry registry) {
        maintenance = Gauge.builder()
                .name("lameduck_maintenance")
                .help("1 while the pod is withdrawn for maintenance, else 0")
                .register(registry);
        drains = Counter.builder()
                .name("lameduck_drains_total")
                .help("Finished drains by trigger and outcome")
                .labelNames("trigger", "outcome")
                .register(registry);
        // Its own counter rather than a label on lameduck_drains_total: most drains have no cause, and a third label there
        // would multiply the pre-initialised series by the kinds (6 triggers x 3 outcomes x 8).
        causes = Counter.builder()
                .name("lameduck_drain_causes_total")
                .help("Finished drains whose pod said who was taking it away, by cause: kubelet-eviction (the kubelet's Evicted "
                        + "Event) or the reason of its DisruptionTarget condition (termination-by-kubelet, preemption-by-scheduler, "
                        + "eviction-by-eviction-api, deletion-by-taint-manager, deletion-by-pod-gc, other-disruption)")
                .labelNames("cause")
                .register(registry);
        for (Cause.Kind kind : Cause.Kind.values()) {
            causes.initLabelValues(kind.label());
        }
        drainDuration = secondsHistogram("lameduck_drain_duration", "Duration of finished drains", Buckets.DRAIN, "outcome")
                .register(registry);
        stepDuration = secondsHistogram("lameduck_drain_step_duration", "Duration of drain steps that ran (skipped steps are not observed)",
                Buckets.DRAIN, "step").register(registry);
        hookDuration = secondsHistogram("lameduck_hook_duration", "Duration of drain hooks that ran (skipped hooks are not observed)",
                Buckets.DRAIN, "hook", "kind", "outcome").register(registry);
        hookRuns = Counter.builder()
                .name("lameduck_hook_runs_total")
                .help("Drain hooks by outcome, skipped ones included")
                .labelNames("hook", "kind", "outcome")
                .register(registry);
        lastNewConnection = secondsHistogram("lameduck_drain_last_new_connection",
                "Per drain: time from the end of the withdrawal to the last new connection on the application ports (0 when none arrived)",
                Buckets.LAST_NEW_CONNECTION).register(registry);
        lastRequest = secondsHistogram("lameduck_drain_last_request",
                "Per drain: time from the end of the withdrawal to the last request on the application ports, on a new or a "
                        + "keep-alive connection (0 when it came before)",
                Buckets.LAST_NEW_CONNECTION).register(registry);
        trafficNotStopped = Counter.builder()
                .name("lameduck_drain_traffic_not_stopped")
                .help("Drains whose propagate step ended (at its maximum or the deadline) while traffic that counts was still arriving; "
                        + "the report's traffic.stillSending names the peers")
                .register(registry);
        restartCycles = Counter.builder()
                .name("lameduck_restart_cycles_total")
                .help("Container restarts the pod was withdrawn for (trigger container-restart: a preStop on a pod not being deleted; "
                        + "container-exit: a crash or OOM kill), by how the cycle ended: restored, restored-without-restart (no "
                        + "container was killed after the preStop), superseded (a drain began)")
                .labelNames("trigger", "end")
                .register(registry);
        for (Trigger trigger : Trigger.values()) {
            if (trigger.isRestart()) {
                RESTART_ENDS.forEach(end -> restartCycles.initLabelValues(trigger.label(), end));
            }
        }
        // One drain per pod: a series that first appears at 1 is invisible to increase() and rate(),
        // so every series a drain can produce starts at 0.
        for (Trigger trigger : Trigger.values()) {
            for (DrainOutcome outcome : DrainOutcome.values()) {
                if (outcome != DrainOutcome.RUNNING) {
                    drains.initLabelValues(trigger.label(), outcome.label());
                }
            }
        }
    }

    static Histogram.Builder secondsHistogram(String name, String help, double[] bounds, String... labels) {
        return Histogram.builder()
                .name(name)
                .unit(Unit.SECONDS)
                .help(help)
                .labelNames(labels)
                .classicOnly()
                .classicUpperBounds(bounds);
    }

    @Override
    public void stepFinished(String drainId, StepReport step) {
        if (step.outcome() != Outcome.SKIPPED) {
            stepDuration.labelValues(step.name().label()).observe(step.durationSeconds());
        }
    }

    @Override
    public void hookFinished(String drainId, HookReport hook) {
        hookRuns.labelValues(hook.name(), hook.kind(), hook.outcome().label()).inc();
        if (hook.outcome() != Outcome.SKIPPED) {
            hookDuration.labelValues(hook.name(), hook.kind(), hook.outcome().label()).observe(hook.durationSeconds());
        }
    }

    @Override
    public void drainFinished(DrainReport report) {
        drains.labelValues(report.trigger().label(), report.outcome().label()).inc();
        if (report.cause() != null) {
            causes.labelValues(report.cause().kind().label()).inc();
        }
        drainDuration.labelValues(report.outcome().label()).observe(report.durationSeconds());
        TrafficReport traffic = report.traffic();
        if (traffic != null && traffic.error() == null) {
            lastNewConnection.observe(orZero(traffic.afterWithdrawal(traffic.lastNewConnectionSeconds())));
            lastRequest.observe(orZero(traffic.afterWithdrawal(traffic.lastRequestSeconds())));
            if (!traffic.stopped() && traffic.requiredQuietSeconds() != null) {
                trafficNotStopped.inc();
            }
        }
    }

    private static double orZero(Double seconds) {
        return seconds == null ? 0 : seconds;
    }

    @Override
    public void cycleEnded(RestartStatus ended) {
        restartCycles.labelValues(ended.trigger().label(), ended.phase()).inc();
    }

    @Override
    public void maintenanceChanged(MaintenanceStatus status) {
        maintenance.set(status.active() ? 1 : 0);
    }
}
