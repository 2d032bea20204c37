package io.lameduck.collect;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.lameduck.http.Json;
import io.lameduck.kube.DrainReportEvent;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What every report Event carries whatever its kind ({@link DrainReportEvent}): the workload, the Event's uid and
 * creation time, the pod, and the report itself as a JSON object, each within its bound. Anything else is an
 * {@link InvalidReportException} naming the Event and the fault.
 *
 * @param where {@code Event namespace/name}, for messages
 */
record ReportHeader(String where, WorkloadKey workload, String eventUid, Instant recordedAt, String pod, JsonNode report) {
    /** Trigger, outcome and step names become metric labels: short words only, so a hostile Event cannot blow up label values. */
    private static final Pattern WORD = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    /** Kubernetes names: a DNS subdomain, at most 253 characters. */
    private static final int MAX_NAME = 253;
    /** A report's id ({@code drain-...}, {@code restart-...}) is far shorter: longer is not an agent's. */
    private static final int MAX_ID = 128;
    private static final Pattern KIND = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,62}");

    /** Reads the header of {@code event}, whose report is the JSON object in annotation {@code reportAnnotation}. */
    static ReportHeader read(Event event, String reportAnnotation) throws InvalidReportException {
        ObjectMeta meta = event.getMetadata();
        String where = "Event " + meta.getNamespace() + "/" + meta.getName();
        Map<String, String> annotations = meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
        String kind = required(annotations, DrainReportEvent.WORKLOAD_KIND, where);
        String workload = required(annotations, DrainReportEvent.WORKLOAD, where);
        String json = required(annotations, reportAnnotation, where);
        String pod = event.getInvolvedObject() == null ? null : event.getInvolvedObject().getName();
        if (!KIND.matcher(kind).matches() || workload.length() > MAX_NAME || json.length() > DrainReportEvent.MAX_REPORT_BYTES
                || pod != null && pod.length() > MAX_NAME) {
            throw new InvalidReportException(where + ": workload kind, workload name, pod name or report out of bounds (kind "
                    + KIND.pattern() + ", names at most " + MAX_NAME + " characters, report at most "
                    + DrainReportEvent.MAX_REPORT_BYTES + " bytes)");
        }
        if (meta.getUid() == null || meta.getCreationTimestamp() == null) {
            throw new InvalidReportException(where + ": no uid or creation time (not read from the API server?)");
        }
        JsonNode report;
        try {
            report = Json.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidReportException(where + ": annotation " + reportAnnotation + " is not JSON: " + e.getOriginalMessage());
        }
        if (report == null || !report.isObject()) {
            throw new InvalidReportException(where + ": annotation " + reportAnnotation + " is not a JSON object");
        }
        Instant recorded;
        try {
            recorded = Instant.parse(meta.getCreationTimestamp());
        } catch (DateTimeParseException e) {
            throw new InvalidReportException(where + ": creation time " + meta.getCreationTimestamp() + " is not a timestamp");
        }
        return new ReportHeader(where, new WorkloadKey(meta.getNamespace(), kind, workload), meta.getUid(), recorded, pod, report);
    }

    /** The report's field {@code field}: a short word, or the report is invalid. */
    String word(String field) throws InvalidReportException {
        String value = report.path(field).asText("");
        if (!isWord(value)) {
            throw new InvalidReportException(where + ": the report's " + field + " is missing or not a short word: "
                    + (value.length() > 40 ? value.substring(0, 40) + "…" : value));
        }
        return value;
    }

    /** The report's id (in field {@code field}), if it has one. */
    String id(String field) throws InvalidReportException {
        String id = report.path(field).asText(null);
        if (id != null && id.length() > MAX_ID) {
            throw new InvalidReportException(where + ": the report's " + field + " is longer than " + MAX_ID + " characters");
        }
        return id;
    }

    static boolean isWord(String value) {
        return WORD.matcher(value).matches();
    }

    private static String required(Map<String, String> annotations, String key, String where) throws InvalidReportException {
        String value = annotations.get(key);
        if (value == null || value.isBlank()) {
            throw new InvalidReportException(where + ": no annotation " + key);
        }
        return value;
    }
}
