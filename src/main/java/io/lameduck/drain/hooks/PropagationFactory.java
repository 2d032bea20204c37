package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig;
import io.lameduck.drain.Propagation;
import io.lameduck.drain.RecentAccepts;
import io.lameduck.sockets.AppConnections;
import io.lameduck.sockets.PassiveOpens;
import io.lameduck.sockets.ProcAppConnections;
import io.lameduck.sockets.SocketStatsConnections;
import io.lameduck.sockets.TcpConnectionTable;
import io.lameduck.time.TimeSource;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds the propagate step from {@code drain.propagationDelay} and {@code drain.propagation}. */
public final class PropagationFactory {
    private static final Logger LOG = LoggerFactory.getLogger(PropagationFactory.class);

    private PropagationFactory() {}

    public static Propagation create(AgentConfig.Drain drain, TcpConnectionTable table, TimeSource time) {
        return create(drain, table, Optional.empty(), time);
    }

    /** As above; {@code accepts} (see {@link #recentAccepts}) tells the drain the traffic just before its trigger. */
    public static Propagation create(AgentConfig.Drain drain, TcpConnectionTable table, Optional<RecentAccepts> accepts, TimeSource time) {
        AgentConfig.PropagationSettings spec = drain.propagation();
        if (spec.ports().isEmpty()) {
            return Propagation.fixed(drain.propagationDelay(), time); // validation requires ports for the quiet mode
        }
        AppConnections connections = connections(spec, table);
        Propagation.Rules rules = new Propagation.Rules(spec.quietPeriod(), spec.minimum(), spec.maximum(), spec.keepAliveWait());
        return switch (spec.mode()) {
            case FIXED -> Propagation.fixed(drain.propagationDelay(), rules, connections, accepts, spec.pollInterval(), time);
            case QUIET -> Propagation.quiet(rules, connections, accepts, spec.pollInterval(), time);
        };
    }

    /**
     * The count of the app's accepted connections a drain takes the traffic's rate before its trigger from; empty when
     * the drain watches no ports, or with {@code ignorePeers}: the kernel's count cannot leave those peers out.
     */
    public static Optional<RecentAccepts> recentAccepts(AgentConfig.Drain drain, int agentPort, LongSupplier agentAccepted,
            TcpConnectionTable table, TimeSource time) {
        AgentConfig.PropagationSettings spec = drain.propagation();
        if (spec.ports().isEmpty() || !spec.ignorePeers().isEmpty()) {
            return Optional.empty();
        }
        PassiveOpens kernel = PassiveOpens.system();
        return Optional.of(new RecentAccepts(kernel::read, agentAccepted, table::listeningPorts, Set.copyOf(spec.ports()),
                () -> agentPort, time));
    }

    /**
     * The helper next to the jar, or {@code ss} where it is installed (either sees requests on keep-alive connections);
     * else {@code /proc/net/tcp}.
     */
    static AppConnections connections(AgentConfig.PropagationSettings spec, TcpConnectionTable table) {
        return SocketStatsConnections.find(spec.ports(), spec.ignorePeers(), table).<AppConnections>map(reader -> {
            LOG.info("drains read the sockets of ports {} with {}", spec.ports(), reader.program());
            return reader;
        }).orElseGet(() -> {
            LOG.warn("neither lameduck-sockdiag (next to the agent's jar) nor ss (iproute2, in /usr/bin, /bin, /usr/sbin or /sbin) "
                    + "was found: the drain sees new connections to ports {} but not requests on keep-alive connections, which "
                    + "is how ingress controllers and meshes send them; use the agent image (it has both) or install iproute2",
                    spec.ports());
            return new ProcAppConnections(table, spec.ports(), spec.ignorePeers(),
                    "neither lameduck-sockdiag nor ss (iproute2) is installed");
        });
    }
}
