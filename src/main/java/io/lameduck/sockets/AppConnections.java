package io.lameduck.sockets;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The application's TCP connections, as the kernel lists them. The drain only knows this interface; the readers of
 * the kernel's socket tables ({@code ss}'s TCP_INFO, {@code /proc/net/tcp{,6}}) implement it elsewhere.
 */
public interface AppConnections {
    /** The application ports whose connections are listed. */
    List<Integer> ports();

    /**
     * Every connection on {@link #ports()} that exists now, in any state but listening (a short connection is still
     * listed in TIME_WAIT after it closed), with the data it has received where the reader knows it; connections
     * from ignored peers are left out.
     *
     * @throws IOException when the table cannot be read
     */
    Map<Connection, Received> now() throws IOException;

    /**
     * The ones of {@link #ports()} that a socket listens on now. A watched port nothing listens on is a
     * misconfiguration (the app listens elsewhere): the drain would see no traffic there, whatever arrives.
     *
     * @throws IOException when the table cannot be read
     */
    Set<Integer> listening() throws IOException;

    /**
     * Null when {@link #now()} tells when data last arrived on each open connection (so requests on keep-alive
     * connections are seen); otherwise why not, for the report: only new connections can then be seen.
     */
    String requestsBlindSpot();

    /** One connection: its 4-tuple. A 4-tuple not seen before is a new connection. */
    record Connection(InetAddress localAddress, int localPort, InetAddress peerAddress, int peerPort) {}

    /**
     * What a connection has received, from the kernel's TCP_INFO: {@code bytes} in all, and how long ago the last
     * data (not a bare ACK or keep-alive probe) arrived. {@link #UNKNOWN} where the reader cannot tell;
     * {@link #CLOSED_BY_APP} (or {@link #closedByApp(Duration)}, when the reader knows since when) for a socket the app
     * closed first, which has no TCP_INFO left (TIME_WAIT); for those, {@code sinceLastData} is how long ago the app
     * closed it, if known.
     */
    record Received(long bytes, Duration sinceLastData) {
        /** How long Linux keeps a connection its side closed first in TIME_WAIT (TCP_TIMEWAIT_LEN). */
        public static final Duration TIME_WAIT = Duration.ofSeconds(60);
        public static final Received UNKNOWN = new Received(-1, null);
        /**
         * The app closed the connection first (the server side of it is in TIME_WAIT), which an HTTP server does
         * right after answering a request with {@code Connection: close} — within one poll, for a fast request — or
         * when the connection idled too long. What it received last is no longer known.
         */
        public static final Received CLOSED_BY_APP = new Received(-2, null);

        public boolean known() {
            return bytes >= 0 && sinceLastData != null;
        }

        /**
         * A socket the app closed {@code ago} ago, from the time its TIME_WAIT has left (ss prints it to the second,
         * to the millisecond under ten): that dates the close, which a first look at the table cannot do otherwise.
         */
        public static Received closedByApp(Duration ago) {
            return new Received(-2, ago);
        }

        public boolean closedByApp() {
            return bytes == -2;
        }

        /** For a socket the app closed first: how long ago, when the reader knows; empty otherwise. */
        public Optional<Duration> closedAgo() {
            return closedByApp() ? Optional.ofNullable(sinceLastData) : Optional.empty();
        }
    }
}
