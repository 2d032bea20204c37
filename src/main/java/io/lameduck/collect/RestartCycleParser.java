package io.lameduck.collect;

import io.fabric8.kubernetes.api.model.Event;
import io.lameduck.kube.DrainReportEvent;

/**
 * Reads a {@link RestartCycleEnd} from the Event the agent wrote when a restart cycle ended ({@link DrainReportEvent},
 * kind {@link DrainReportEvent#RESTART_KIND}): the cycle's status as {@code /status} shows it under {@code restart}.
 */
final class RestartCycleParser {
    private RestartCycleParser() {}

    static RestartCycleEnd parse(Event event) throws InvalidReportException {
        ReportHeader header = ReportHeader.read(event, DrainReportEvent.RESTART_REPORT);
        if (header.report().path("active").asBoolean(false)) {
            throw new InvalidReportException(header.where() + ": the report is of a restart cycle still in progress");
        }
        return new RestartCycleEnd(header.eventUid(), header.recordedAt(), header.workload(), header.pod(), header.id("drainId"),
                header.word("trigger"), header.word("phase"));
    }
}
