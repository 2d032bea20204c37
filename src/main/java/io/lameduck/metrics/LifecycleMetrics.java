package io.lameduck.metrics;

import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.lifecycle.Transition;
import io.prometheus.metrics.core.metrics.StateSet;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Arrays;
import java.util.Locale;

/** {@code lameduck_state}: the lifecycle state as a StateSet, exactly one state true. */
final class LifecycleMetrics implements Lifecycle.Listener {
    private final StateSet states;
    private volatile State current = State.CREATED;

    LifecycleMetrics(PrometheusRegistry registry) {
        states = StateSet.builder()
                .name("lameduck_state")
                .help("Lifecycle state of the agent: exactly one state is 1")
                .states(Arrays.stream(State.values()).map(LifecycleMetrics::label).toArray(String[]::new))
                .register(registry);
        show(State.CREATED);
    }

    /** The state of the last transition seen; CREATED before any. */
    State current() {
        return current;
    }

    @Override
    public void onTransition(Transition transition) {
        current = transition.to();
        show(transition.to());
    }

    // The lifecycle delivers transitions one at a time, so these writes never interleave. The new state
    // is set before the others are cleared: a scrape in between sees two states, never none.
    private void show(State state) {
        states.setTrue(label(state));
        for (State other : State.values()) {
            if (other != state) {
                states.setFalse(label(other));
            }
        }
    }

    static String label(State state) {
        return state.name().toLowerCase(Locale.ROOT);
    }
}
