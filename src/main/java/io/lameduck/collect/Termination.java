package io.lameduck.collect;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.lameduck.drain.Cause;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One pod's drain as the collector counts it: read from the Event that carried its report.
 *
 * @param eventUid the Event's uid: what makes counting it twice impossible
 * @param recordedAt when the Event was written (its creation time on the API server, to the second): what the ledger's
 *     horizon is compared with
 * @param finishedAt when the drain ended, by the agent's clock (to the millisecond; the Event's creation time when the
 *     report does not say): the order of the recent terminations
 * @param stepSeconds how long each step that ran took, by step name (withdraw, propagate, hooks)
 * @param withdrawalConfirmed whether the withdraw step completed (the pod seen out of the EndpointSlices)
 * @param trafficStopped whether requests had stopped when the drain ended; null when the drain did not watch traffic
 * @param trafficAfterWithdrawalSeconds how long requests kept arriving after the withdrawal; null when not known
 * @param arrivalsAfterWithdrawal requests seen after the withdrawal (the report's {@code traffic.arrivalsAfterWithdrawal});
 *     null when the drain did not watch traffic
 * @param cause who took the pod away, when the pod said so (the report's {@code cause}: a kind of {@link Cause.Kind}, any
 *     other word read as {@code other-disruption}); null when the report names none
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Termination(String eventUid, Instant recordedAt, Instant finishedAt, WorkloadKey workload, String pod, String drainId,
        String trigger, String outcome, double durationSeconds, Map<String, Double> stepSeconds,
        boolean withdrawalConfirmed, Boolean trafficStopped, Double trafficAfterWithdrawalSeconds, Integer arrivalsAfterWithdrawal,
        String cause) implements Report {
    public Termination {
        // In the order the steps ran (Map.copyOf has none): what /terminations shows, and the persisted state keeps.
        stepSeconds = Collections.unmodifiableMap(new LinkedHashMap<>(stepSeconds));
    }

    @Override
    public void addTo(WorkloadTotals totals) {
        totals.add(this);
    }
}
