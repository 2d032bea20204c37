package io.lameduck.collect;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.lameduck.drain.Cause;
import io.lameduck.kube.DrainReportEvent;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a {@link Termination} from an Event the agent wrote at a drain's end ({@link DrainReportEvent}). Anything else
 * (an Event someone labelled by hand, a report from an agent of another version missing what counting needs) is an
 * {@link InvalidReportException} naming the Event and the fault: counted as invalid, never as a termination.
 */
public final class TerminationParser {
    private TerminationParser() {}

    public static Termination parse(Event event) throws InvalidReportException {
        ReportHeader header = ReportHeader.read(event, DrainReportEvent.REPORT);
        String where = header.where();
        JsonNode report = header.report();
        String trigger = header.word("trigger");
        String outcome = header.word("outcome");
        if ("running".equals(outcome)) {
            throw new InvalidReportException(where + ": the report is of a drain still running");
        }
        JsonNode duration = report.get("durationSeconds");
        if (duration == null || !duration.isNumber() || duration.asDouble() < 0) {
            throw new InvalidReportException(where + ": the report has no durationSeconds");
        }
        Map<String, Double> steps = new LinkedHashMap<>();
        boolean withdrawalConfirmed = false;
        for (JsonNode step : report.path("steps")) {
            String name = step.path("name").asText("");
            if (!ReportHeader.isWord(name) || steps.size() >= 8) {
                continue;
            }
            double seconds = step.path("durationSeconds").asDouble(0);
            if (!"skipped".equals(step.path("outcome").asText())) {
                steps.put(name, Math.max(0, seconds));
            }
            if ("withdraw".equals(name)) {
                withdrawalConfirmed = "completed".equals(step.path("outcome").asText());
            }
        }
        JsonNode traffic = report.path("traffic");
        Boolean stopped = traffic.path("requiredQuietSeconds").isNumber() ? traffic.path("stopped").asBoolean() : null;
        Double after = null;
        if (traffic.path("lastRequestSeconds").isNumber() && traffic.path("withdrawnSeconds").isNumber()) {
            after = Math.max(0, traffic.get("lastRequestSeconds").asDouble() - traffic.get("withdrawnSeconds").asDouble());
        }
        Integer arrivals = traffic.path("arrivalsAfterWithdrawal").isInt() ? Math.max(0, traffic.get("arrivalsAfterWithdrawal").asInt()) : null;
        Instant finished = header.recordedAt();
        if (report.path("finishedAt").isTextual()) {
            try {
                finished = Instant.parse(report.get("finishedAt").asText());
            } catch (DateTimeParseException e) {
                throw new InvalidReportException(where + ": the report's finishedAt is not a timestamp");
            }
        }
        return new Termination(header.eventUid(), header.recordedAt(), finished, header.workload(), header.pod(), header.id("id"), trigger,
                outcome, duration.asDouble(), steps, withdrawalConfirmed, stopped, after, arrivals, cause(report.path("cause").path("kind")));
    }

    /**
     * The report's cause kind, one of {@link Cause.Kind}'s labels: any other text (a newer agent, a forged report) is
     * {@code other-disruption}, so the label set stays bounded; null when the report names no cause.
     */
    static String cause(JsonNode kind) {
        if (!kind.isTextual()) {
            return null;
        }
        return Arrays.stream(Cause.Kind.values()).map(Cause.Kind::label).filter(kind.asText()::equals).findFirst()
                .orElse(Cause.Kind.OTHER_DISRUPTION.label());
    }
}
