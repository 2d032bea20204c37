package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig;
import io.lameduck.drain.Propagation;
import io.lameduck.drain.Ticker;
import java.time.Clock;

/** Builds the propagate step from {@code drain.propagationDelay} and {@code drain.propagation}. */
public final class PropagationFactory {
    private PropagationFactory() {}

    public static Propagation create(AgentConfig.Drain drain, TcpConnectionTable table, Ticker ticker, Clock clock) {
        AgentConfig.Propagation spec = drain.propagation();
        if (spec.ports().isEmpty()) {
            return Propagation.fixed(drain.propagationDelay()); // validation requires ports for the quiet mode
        }
        ProcAppConnections connections = new ProcAppConnections(table, spec.ports(), spec.ignorePeers());
        return switch (spec.mode()) {
            case FIXED -> Propagation.fixed(drain.propagationDelay(), connections, spec.pollInterval(), ticker, clock);
            case QUIET -> Propagation.quiet(spec.quietPeriod(), spec.minimum(), spec.maximum(), connections, spec.pollInterval(), ticker, clock);
        };
    }
}
