package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** How one step or hook ended. */
public enum Outcome {
    COMPLETED, TIMED_OUT, FAILED, SKIPPED;

    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
