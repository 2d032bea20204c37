package io.lameduck.inject;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.lameduck.inject.InjectionTemplate.Strategy;
import java.util.List;

/** What {@link PodInjector} decided for one pod. */
public sealed interface Decision {
    /** Apply {@code patch} (RFC 6902); bind the agent's rules to {@code serviceAccount}; show {@code warnings} to the client. */
    record Inject(ArrayNode patch, Strategy strategy, boolean nativeSidecar, String serviceAccount, List<String> warnings)
            implements Decision {
        public Inject {
            warnings = List.copyOf(warnings);
        }
    }

    /** Leave the pod unchanged; {@code message} says why (returned as an admission warning when it helps the user). */
    record Skip(SkipReason reason, String message) implements Decision {}
}
