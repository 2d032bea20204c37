package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonInclude;

/** How one drain hook ran. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HookReport(String name, String kind, int priority, Outcome outcome, double durationSeconds, String error) {}
