package io.lameduck.lifecycle;

import java.time.Instant;
import java.util.Objects;

/** One state change, as published to listeners and kept in the history. */
public record Transition(State from, State to, Instant at, String reason) {
    public Transition {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(at, "at");
        reason = reason == null ? "" : reason;
    }
}
