package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** How a whole drain ended; {@link #RUNNING} appears only in the live view of a drain still in progress. */
public enum DrainOutcome {
    RUNNING, COMPLETED, DEADLINE_EXCEEDED, FAILED;

    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
