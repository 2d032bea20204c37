package io.lameduck.collect;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.lameduck.http.Json;
import io.lameduck.kube.DrainReportEvent;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a {@link Termination} from an Event the agent wrote at a drain's end ({@link DrainReportEvent}). Anything else
 * (an Event someone labelled by hand, a report from an agent of another version missing what counting needs) is an
 * {@link InvalidReportException} naming the Event and the fault: counted as invalid, never as a termination.
 */
public final class TerminationParser {
    /** Trigger and outcome become metric labels: short words only, so a hostile Event cannot blow up label values. */
    private static final Pattern WORD = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    /** Kubernetes names: a DNS subdomain, at most 253 characters. */
    private static final int MAX_NAME = 253;
    private static final Pattern KIND = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,62}");

    private TerminationParser() {}

    public static Termination parse(Event event) throws InvalidReportException {
        ObjectMeta meta = event.getMetadata();
        String where = "Event " + meta.getNamespace() + "/" + meta.getName();
        Map<String, String> annotations = meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
        String kind = required(annotations, DrainReportEvent.WORKLOAD_KIND, where);
        String workload = required(annotations, DrainReportEvent.WORKLOAD, where);
        String json = required(annotations, DrainReportEvent.REPORT, where);
        if (!KIND.matcher(kind).matches() || workload.length() > MAX_NAME || json.length() > DrainReportEvent.MAX_REPORT_BYTES) {
            throw new InvalidReportException(where + ": workload kind, workload name or report out of bounds (kind "
                    + KIND.pattern() + ", name at most " + MAX_NAME + " characters, report at most "
                    + DrainReportEvent.MAX_REPORT_BYTES + " bytes)");
        }
        if (meta.getUid() == null || meta.getCreationTimestamp() == null) {
            throw new InvalidReportException(where + ": no uid or creation time (not read from the API server?)");
        }
        JsonNode report;
        try {
            report = Json.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidReportException(where + ": annotation " + DrainReportEvent.REPORT + " is not JSON: " + e.getOriginalMessage());
        }
        if (report == null || !report.isObject()) {
            throw new InvalidReportException(where + ": annotation " + DrainReportEvent.REPORT + " is not a JSON object");
        }
        String trigger = word(report, "trigger", where);
        String outcome = word(report, "outcome", where);
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
            if (!WORD.matcher(name).matches() || steps.size() >= 8) {
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
        Instant recorded;
        try {
            recorded = Instant.parse(meta.getCreationTimestamp());
        } catch (DateTimeParseException e) {
            throw new InvalidReportException(where + ": creation time " + meta.getCreationTimestamp() + " is not a timestamp");
        }
        Instant finished = recorded;
        if (report.path("finishedAt").isTextual()) {
            try {
                finished = Instant.parse(report.get("finishedAt").asText());
            } catch (DateTimeParseException e) {
                throw new InvalidReportException(where + ": the report's finishedAt is not a timestamp");
            }
        }
        String pod = event.getInvolvedObject() == null ? null : event.getInvolvedObject().getName();
        return new Termination(meta.getUid(), recorded, finished, new WorkloadKey(meta.getNamespace(), kind, workload), pod,
                report.path("id").asText(null), trigger, outcome, duration.asDouble(), steps, withdrawalConfirmed, stopped, after,
                arrivals);
    }

    private static String required(Map<String, String> annotations, String key, String where) throws InvalidReportException {
        String value = annotations.get(key);
        if (value == null || value.isBlank()) {
            throw new InvalidReportException(where + ": no annotation " + key);
        }
        return value;
    }

    private static String word(JsonNode report, String field, String where) throws InvalidReportException {
        String value = report.path(field).asText("");
        if (!WORD.matcher(value).matches()) {
            throw new InvalidReportException(where + ": the report's " + field + " is missing or not a short word: "
                    + (value.length() > 40 ? value.substring(0, 40) + "…" : value));
        }
        return value;
    }
}
