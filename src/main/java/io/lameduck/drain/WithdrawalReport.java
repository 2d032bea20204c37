package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * What the withdraw step saw on the EndpointSlices, for the drain report. "Seen" is when the agent first saw
 * it, which can be later than when it happened (a pod being deleted is already {@code ready=false} at the first
 * look); a moment that was never seen (timeout, nothing to verify) is absent.
 *
 * @param readyFalseSeenAt when every slice first showed the pod {@code ready=false} or without it
 * @param readyFalseSeenAfterSeconds the same, in seconds from the start of the withdraw step
 * @param servingFalseSeenAt when every slice first showed the pod {@code serving=false} or without it: withdrawn
 * @param servingFalseSeenAfterSeconds the same, in seconds from the start of the withdraw step
 * @param warnings where withdrawal cannot work or hurts (a Service with {@code publishNotReadyAddresses}, the
 *     pod being the last serving endpoint of a Service), or what could not be looked up (the Ingresses)
 * @param ingresses the Ingresses routing to a Service that selects the pod ({@code name -> service}): their controllers
 *     pool keep-alive connections to the pod, so the drain counts the requests on open connections until they stop
 *     ({@code drain.propagation.waitForIngresses})
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record WithdrawalReport(Instant readyFalseSeenAt, Double readyFalseSeenAfterSeconds, Instant servingFalseSeenAt,
        Double servingFalseSeenAfterSeconds, List<String> warnings, List<String> ingresses) {
    public WithdrawalReport {
        warnings = List.copyOf(warnings);
        ingresses = List.copyOf(ingresses);
    }
}
