package io.lameduck.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The drain reports an agent logged (one JSON line each, under {@code drainReport}), and their steps. */
final class DrainReports {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DrainReports() {}

    /** Every report in the agent's log so far, in order: drains and restart cycles' withdrawals. */
    static List<JsonNode> in(ContainerLog agent) {
        List<JsonNode> reports = new ArrayList<>();
        for (ContainerLog.Line line : agent.lines()) {
            if (line.text().contains("\"drainReport\"")) {
                try {
                    reports.add(JSON.readTree(line.text()).path("drainReport"));
                } catch (Exception e) {
                    throw new AssertionError("not a JSON log line: " + line.text(), e);
                }
            }
        }
        return reports;
    }

    /** The first report in the agent's log, if one was written yet. */
    static Optional<JsonNode> first(ContainerLog agent) {
        return in(agent).stream().findFirst();
    }

    /** The reports with this trigger ({@code container-restart}, {@code signal}, ...). */
    static List<JsonNode> triggeredBy(ContainerLog agent, String trigger) {
        return in(agent).stream().filter(r -> trigger.equals(r.path("trigger").asText())).toList();
    }

    /** The report's step of this name; fails when it has none. */
    static JsonNode step(JsonNode report, String name) {
        for (JsonNode step : report.path("steps")) {
            if (name.equals(step.path("name").asText())) {
                return step;
            }
        }
        throw new AssertionError("no step " + name + " in " + report);
    }
}
