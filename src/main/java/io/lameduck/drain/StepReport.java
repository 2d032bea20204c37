package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One timed step of a drain: {@code unready}, {@code withdraw}, {@code propagate} or {@code hooks}.
 *
 * @param detail what the step did, e.g. which strategy withdrew the pod and whether it was confirmed
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepReport(String name, Outcome outcome, double durationSeconds, String detail, String error) {
    public static final String UNREADY = "unready";
    public static final String WITHDRAW = "withdraw";
    public static final String PROPAGATE = "propagate";
    public static final String HOOKS = "hooks";
}
