package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lameduck.drain.DrainListener;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.HookReport;
import io.lameduck.maintenance.MaintenanceListener;
import io.lameduck.restart.RestartCycle;
import io.lameduck.restart.RestartStatus;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.drain.Outcome;
import io.lameduck.drain.StepName;
import io.lameduck.drain.StepReport;
import io.lameduck.drain.TrafficReport;
import io.lameduck.drain.Trigger;
import io.lameduck.http.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes Kubernetes Events (core/v1) on the agent's pod for what an operator wants to see in
 * {@code kubectl describe pod}: drain started, withdrawn (with the latency), hook timed out or failed, drain
 * completed or exceeded its deadline (with the report's one-line summary), traffic still arriving or watched ports
 * nothing listened on, maintenance on and off, restart cycles ended. The drain's last Event carries the whole report
 * for the fleet collector, and a restart cycle's last Event the cycle's status ({@link DrainReportEvent}).
 * Events are written on one background thread from a bounded queue, so a slow API never holds the drain
 * up; when the queue is full an event is dropped and logged. {@link #close(Duration)} flushes what is queued.
 */
final class PodEvents implements DrainListener, MaintenanceListener, RestartCycle.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(PodEvents.class);
    static final String COMPONENT = "lameduck";
    private static final int MAX_MESSAGE = 1024;

    private final KubernetesClient client;
    private final PodIdentity identity;
    private final Supplier<String> podUid;
    private final Supplier<Workload> workload;
    private final ApiCalls api;
    private final Clock clock;
    private final ThreadPoolExecutor writer;

    PodEvents(KubernetesClient client, PodIdentity identity, Supplier<String> podUid, Supplier<Workload> workload, ApiCalls api,
            Clock clock) {
        this.client = client;
        this.identity = identity;
        this.podUid = podUid;
        this.workload = workload;
        this.api = api;
        this.clock = clock;
        this.writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64), task -> {
            Thread thread = new Thread(task, "lameduck-events");
            thread.setDaemon(true);
            return thread;
        }, (task, executor) -> LOG.warn("Kubernetes Event dropped: too many queued"));
    }

    @Override
    public void drainStarted(String drainId, Trigger trigger, Instant deadline) {
        post("Normal", "DrainStarted", "drain " + drainId + " started by " + trigger.label() + "; deadline " + deadline);
    }

    @Override
    public void stepFinished(String drainId, StepReport step) {
        if (step.name() != StepName.WITHDRAW) {
            return;
        }
        boolean completed = step.outcome() == Outcome.COMPLETED;
        post(completed ? "Normal" : "Warning", completed ? "Withdrawn" : "WithdrawalNotConfirmed",
                "drain " + drainId + ": " + step.detail() + (step.error() == null ? "" : " (" + step.error() + ")"));
    }

    @Override
    public void hookFinished(String drainId, HookReport hook) {
        if (hook.outcome() == Outcome.TIMED_OUT) {
            post("Warning", "DrainHookTimedOut", String.format("drain %s: hook %s (%s) timed out after %.2fs%s",
                    drainId, hook.name(), hook.kind(), hook.durationSeconds(), hook.error() == null ? "" : ": " + hook.error()));
        } else if (hook.outcome() == Outcome.FAILED) {
            post("Warning", "DrainHookFailed", String.format("drain %s: hook %s (%s) failed after %.2fs: %s",
                    drainId, hook.name(), hook.kind(), hook.durationSeconds(), hook.error()));
        }
    }

    @Override
    public void drainFinished(DrainReport report) {
        TrafficReport traffic = report.traffic();
        if (traffic != null && traffic.requiredQuietSeconds() != null && !traffic.stopped()) {
            // Names the consumers that lag: the operator's lead to what kept sending.
            post("Warning", "TrafficNotStopped", "drain " + report.id() + ": traffic to ports " + traffic.ports()
                    + " was still arriving when the propagate step ended, from " + String.join(", ", traffic.stillSending())
                    + "; last request " + traffic.afterWithdrawal(traffic.lastRequestSeconds()) + "s after the withdrawal from "
                    + traffic.lastRequestPeer() + " on a " + traffic.lastRequestConnection() + " connection");
        }
        if (traffic != null && !traffic.unheardPorts().isEmpty()) {
            post("Warning", "NothingListens", "drain " + report.id() + ": nothing listened on watched port(s) " + traffic.unheardPorts()
                    + " when the drain started, so it could not see the app's traffic there; set drain.propagation.ports (or the "
                    + "pod's lameduck.io/ports annotation) to the ports the app listens on");
        }
        Event ended = switch (report.outcome()) {
            case COMPLETED -> event("Normal", "DrainCompleted", report.summary());
            case DEADLINE_EXCEEDED -> event("Warning", "DrainDeadlineExceeded", report.summary());
            default -> event("Warning", "DrainFailed", report.summary());
        };
        writer.execute(() -> write(withReport(ended, DrainReportEvent.REPORT_KIND, DrainReportEvent.REPORT, Json.write(report),
                "drain " + report.id())));
    }

    @Override
    public void maintenanceChanged(MaintenanceStatus status) {
        String detail = status.detail() == null ? "" : "; " + status.detail();
        if (status.active()) {
            post("Normal", "MaintenanceOn", "maintenance on: " + status.reason()
                    + (status.expiresAt() == null ? "" : " (until " + status.expiresAt() + ")") + detail);
        } else {
            post("Normal", "MaintenanceOff", "maintenance off: " + status.reason() + detail);
        }
    }

    /** The cycle's last Event, with its status attached for the fleet collector (how the cycle ended). */
    @Override
    public void cycleEnded(RestartStatus ended) {
        String message = "restart cycle " + ended.drainId() + " (" + ended.trigger().label() + "): " + ended.detail();
        Event event = switch (ended.phase()) {
            case "restored" -> event("Normal", "Restored", message);
            case "superseded" -> event("Normal", "RestartSuperseded", message);
            default -> event("Warning", "RestoredWithoutRestart", message);
        };
        writer.execute(() -> write(withReport(event, DrainReportEvent.RESTART_KIND, DrainReportEvent.RESTART_REPORT, Json.write(ended),
                "restart cycle " + ended.drainId())));
    }

    /** A Warning Event with this reason (e.g. {@code LastServingEndpoint}) and message. */
    void warning(String reason, String message) {
        post("Warning", reason, message);
    }

    /**
     * A report's Event with the report attached for the fleet collector ({@link DrainReportEvent}): labelled
     * {@code kind}, the workload and {@code json} in annotations. Without a known workload (the pod never read) or with
     * an oversized report, the Event goes without it, and the log says so.
     */
    private Event withReport(Event event, String kind, String annotation, String json, String what) {
        Workload workload = this.workload.get();
        if (workload == null || json.length() > DrainReportEvent.MAX_REPORT_BYTES) {
            LOG.warn("{}: its Event carries no report for the fleet collector: {}", what, workload == null
                    ? "the pod was never read, so its workload is unknown"
                    : "the report is " + json.length() + " bytes, more than " + DrainReportEvent.MAX_REPORT_BYTES);
            return event;
        }
        return new EventBuilder(event)
                .editMetadata()
                    .addToLabels(DrainReportEvent.REPORT_LABEL, kind)
                    .addToAnnotations(DrainReportEvent.WORKLOAD_KIND, workload.kind())
                    .addToAnnotations(DrainReportEvent.WORKLOAD, workload.name())
                    .addToAnnotations(annotation, json)
                .endMetadata()
                .build();
    }

    private void post(String type, String reason, String message) {
        Event event = event(type, reason, message);
        writer.execute(() -> write(event));
    }

    private void write(Event event) {
        try {
            api.call("create", "events", OwnPod.CALL_LIMIT,
                    () -> client.v1().events().inNamespace(identity.namespace()).resource(event).create());
        } catch (ApiException e) {
            LOG.debug("Kubernetes Event {} not written: {}", event.getReason(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Event event(String type, String reason, String message) {
        String now = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
        String trimmed = message.length() <= MAX_MESSAGE ? message : message.substring(0, MAX_MESSAGE - 1) + "…";
        return new EventBuilder()
                .withNewMetadata()
                    .withNamespace(identity.namespace())
                    .withName(identity.name() + "." + UUID.randomUUID().toString().replace("-", "").substring(0, 16).toLowerCase(Locale.ROOT))
                .endMetadata()
                .withNewInvolvedObject()
                    .withApiVersion("v1").withKind("Pod").withNamespace(identity.namespace()).withName(identity.name())
                    .withUid(podUid.get())
                .endInvolvedObject()
                .withType(type)
                .withReason(reason)
                .withMessage(trimmed)
                .withNewSource().withComponent(COMPONENT).endSource()
                .withReportingComponent(COMPONENT)
                .withReportingInstance(identity.name())
                .withFirstTimestamp(now)
                .withLastTimestamp(now)
                .withCount(1)
                .build();
    }

    /** Writes what is queued, for at most {@code limit}; then stops. */
    void close(Duration limit) {
        writer.shutdown();
        try {
            if (!writer.awaitTermination(limit.toNanos(), TimeUnit.NANOSECONDS)) {
                LOG.warn("Kubernetes Events: {} still queued after {}ms; dropping them", writer.getQueue().size(), limit.toMillis());
                writer.shutdownNow();
            }
        } catch (InterruptedException e) {
            writer.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
