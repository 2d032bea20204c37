package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/** A drain's last Event as the agent writes it for the fleet collector (see PodEvents and {@link DrainReportEvent}). */
final class ReportEvents {
    private ReportEvents() {}

    /** Event {@code name} on pod {@code pod} of Deployment {@code workload}, carrying {@code report} (any text: a test may forge one). */
    static Event of(String namespace, String name, String pod, String workload, String report) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        return new EventBuilder()
                .withNewMetadata().withName(name)
                    .addToLabels(DrainReportEvent.REPORT_LABEL, DrainReportEvent.REPORT_KIND)
                    .addToAnnotations(Map.of(DrainReportEvent.WORKLOAD_KIND, "Deployment", DrainReportEvent.WORKLOAD, workload,
                            DrainReportEvent.REPORT, report))
                .endMetadata()
                .withNewInvolvedObject().withApiVersion("v1").withKind("Pod").withNamespace(namespace).withName(pod).endInvolvedObject()
                .withType("Normal").withReason("DrainCompleted").withMessage("drain of " + pod)
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .build();
    }
}
