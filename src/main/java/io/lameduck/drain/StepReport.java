package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One timed step of a drain.
 *
 * @param detail what the step did, e.g. which strategy withdrew the pod and whether it was confirmed
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepReport(StepName name, Outcome outcome, double durationSeconds, String detail, String error) {}
