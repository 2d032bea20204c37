package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonInclude;

/** How one drain hook ran; {@code at} is {@code trigger} or {@code quiet} (see {@link Hook#atTrigger}). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HookReport(String name, String kind, int priority, String at, Outcome outcome, double durationSeconds, String error) {
    static HookReport of(Hook hook, Outcome outcome, double durationSeconds, String error) {
        return new HookReport(hook.name(), hook.kind(), hook.priority(), hook.atTrigger() ? "trigger" : "quiet", outcome,
                durationSeconds, error);
    }
}
