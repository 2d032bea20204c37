package io.lameduck.drain;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * Traffic to the application's ports, watched from the start of the drain to the end of the propagate step: when it
 * really stopped, and who was still sending. Times are seconds from the start of the drain.
 *
 * @param ports the application ports watched
 * @param requestsBlindSpot null when requests on open connections were seen; otherwise why not (only new
 *     connections were)
 * @param watchedSeconds how long the ports were watched
 * @param withdrawnSeconds when the withdraw step ended (the withdrawal confirmed, or given up on); null if it never did
 * @param newConnections connections (4-tuples) that appeared while watching
 * @param lastNewConnectionSeconds when the last new connection was seen; null when none arrived
 * @param lastNewConnectionAt the same moment on the wall clock
 * @param lastNewConnectionPeer who opened it ({@code address:port})
 * @param requests requests seen on connections already open (data arrived; one per connection and poll at most)
 * @param lastRequestSeconds when the last request of either kind (a new connection, or data on an open one) arrived
 * @param lastRequestAt the same moment on the wall clock
 * @param lastRequestPeer who sent it
 * @param lastRequestConnection {@code new} (it opened the connection) or {@code reused} (a keep-alive connection)
 * @param quietSeconds how long the traffic that counts had been silent when watching stopped
 * @param requiredQuietSeconds how long it had to be silent (see {@code quietRule}); null in the fixed mode
 * @param quietRule why that long: the quiet period, ten mean gaps of the measured traffic, or low traffic
 * @param stopped whether the traffic that counts had stopped for {@code requiredQuietSeconds} when the step ended
 * @param stillSending peers that were still sending when the step ended, most recent first; with {@code stopped}
 *     true, these sent only on keep-alive connections opened before {@code keepAliveWait} ran out (pinned by
 *     conntrack, or a consumer lagging longer than that)
 * @param sources the peers that sent traffic, most recent first (at most {@value #SOURCES_SHOWN})
 * @param error why the table could not be read, when it could not
 * @param unheardPorts watched ports nothing listened on when the drain started: the app listens elsewhere, so the
 *     drain could not see its traffic there (set {@code drain.propagation.ports} to the app's listening ports)
 * @param arrivalsAfterWithdrawal new connections and requests on open connections (one per connection and poll at most)
 *     that arrived after the withdrawal step ended: traffic a consumer still sent to a pod it should have left
 * @param unseenConnections of {@code newConnections}, those only the kernel's count of accepted connections showed (a
 *     client that closed first, between two looks at the table); null when the drain had no such count
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TrafficReport(List<Integer> ports, String requestsBlindSpot, double watchedSeconds, Double withdrawnSeconds,
        int newConnections, Double lastNewConnectionSeconds, Instant lastNewConnectionAt, String lastNewConnectionPeer,
        int requests, Double lastRequestSeconds, Instant lastRequestAt, String lastRequestPeer, String lastRequestConnection,
        double quietSeconds, Double requiredQuietSeconds, String quietRule, boolean stopped, List<String> stillSending,
        List<Source> sources, String error, List<Integer> unheardPorts, int arrivalsAfterWithdrawal, Long unseenConnections) {
    public static final int SOURCES_SHOWN = 10;

    public TrafficReport {
        ports = List.copyOf(ports);
        stillSending = List.copyOf(stillSending);
        sources = List.copyOf(sources);
        unheardPorts = List.copyOf(unheardPorts);
    }

    /** A report in which every watched port had a listener when the drain started, and nothing arrived after the withdrawal. */
    public TrafficReport(List<Integer> ports, String requestsBlindSpot, double watchedSeconds, Double withdrawnSeconds,
            int newConnections, Double lastNewConnectionSeconds, Instant lastNewConnectionAt, String lastNewConnectionPeer,
            int requests, Double lastRequestSeconds, Instant lastRequestAt, String lastRequestPeer, String lastRequestConnection,
            double quietSeconds, Double requiredQuietSeconds, String quietRule, boolean stopped, List<String> stillSending,
            List<Source> sources, String error) {
        this(ports, requestsBlindSpot, watchedSeconds, withdrawnSeconds, newConnections, lastNewConnectionSeconds,
                lastNewConnectionAt, lastNewConnectionPeer, requests, lastRequestSeconds, lastRequestAt, lastRequestPeer,
                lastRequestConnection, quietSeconds, requiredQuietSeconds, quietRule, stopped, stillSending, sources, error, List.of(), 0,
                null);
    }

    TrafficReport withError(String why) {
        return new TrafficReport(ports, requestsBlindSpot, watchedSeconds, withdrawnSeconds, newConnections,
                lastNewConnectionSeconds, lastNewConnectionAt, lastNewConnectionPeer, requests, lastRequestSeconds,
                lastRequestAt, lastRequestPeer, lastRequestConnection, quietSeconds, requiredQuietSeconds, quietRule,
                stopped, stillSending, sources, why, unheardPorts, arrivalsAfterWithdrawal, unseenConnections);
    }

    /** This report, naming the watched ports nothing listened on when the drain started. */
    TrafficReport withUnheardPorts(List<Integer> unheard) {
        return new TrafficReport(ports, requestsBlindSpot, watchedSeconds, withdrawnSeconds, newConnections,
                lastNewConnectionSeconds, lastNewConnectionAt, lastNewConnectionPeer, requests, lastRequestSeconds,
                lastRequestAt, lastRequestPeer, lastRequestConnection, quietSeconds, requiredQuietSeconds, quietRule,
                stopped, stillSending, sources, error, unheard, arrivalsAfterWithdrawal, unseenConnections);
    }

    /** Seconds from the withdrawal to {@code moment} (0 when it came before), or null without either. */
    public Double afterWithdrawal(Double moment) {
        return moment == null || withdrawnSeconds == null ? null : Math.max(0, Math.round((moment - withdrawnSeconds) * 1000) / 1e3);
    }

    /**
     * One peer address and what it sent.
     *
     * @param lastSeconds when it last sent, from the start of the drain
     */
    public record Source(String address, int newConnections, int requests, double lastSeconds) {}
}
