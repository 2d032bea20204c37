package io.lameduck.lifecycle;

import java.util.List;

/** An immutable view of the lifecycle: the current state and every transition that led to it. */
public record LifecycleSnapshot(State state, List<Transition> history) {
    public LifecycleSnapshot {
        history = List.copyOf(history);
    }

    /** The reason given for entering the current state, or "" before the first transition. */
    public String reason() {
        return history.isEmpty() ? "" : history.get(history.size() - 1).reason();
    }
}
