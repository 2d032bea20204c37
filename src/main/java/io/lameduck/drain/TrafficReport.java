package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * New connections to the application's ports after the withdrawal, watched during the propagate step: when traffic
 * really stopped arriving, and who was still sending it. Times count from the end of the withdraw step.
 *
 * @param ports the application ports watched
 * @param watchedSeconds how long the table was watched (the propagate step)
 * @param newConnections connections (4-tuples) that appeared while watching
 * @param lastNewConnectionSeconds when the last new connection was seen; null when none arrived
 * @param lastNewConnectionAt the same moment on the wall clock
 * @param lastNewConnectionPeer who opened it ({@code address:port})
 * @param quietSeconds how long no new connection had arrived when watching stopped
 * @param sources the peer addresses that opened new connections, most recent first (at most {@value #SOURCES_SHOWN})
 * @param error why the table could not be read, when it could not
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TrafficReport(List<Integer> ports, double watchedSeconds, int newConnections, Double lastNewConnectionSeconds,
        Instant lastNewConnectionAt, String lastNewConnectionPeer, double quietSeconds, List<Source> sources, String error) {
    public static final int SOURCES_SHOWN = 10;

    public TrafficReport {
        ports = List.copyOf(ports);
        sources = List.copyOf(sources);
    }

    TrafficReport withError(String why) {
        return new TrafficReport(ports, watchedSeconds, newConnections, lastNewConnectionSeconds, lastNewConnectionAt,
                lastNewConnectionPeer, quietSeconds, sources, why);
    }

    /** One peer address and the new connections it opened. */
    public record Source(String address, int newConnections, double lastSeconds) {}
}
