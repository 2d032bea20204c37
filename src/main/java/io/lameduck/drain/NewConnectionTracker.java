package io.lameduck.drain;

import io.lameduck.drain.AppConnections.Connection;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Tells new connections to the application from the ones it already had. The connections open when tracking starts
 * are the baseline; every later {@link #poll()} counts the 4-tuples that were not there at the previous poll. Only
 * the previous poll's table is kept, so memory follows the number of open connections, not of connections seen.
 *
 * <p>A connection that opens and leaves the table between two polls is missed; one that closes stays listed in
 * TIME_WAIT (or CLOSE_WAIT) for a while, so a poll interval of a few hundred milliseconds misses very little.
 * Not thread-safe: one propagate step owns it.
 */
final class NewConnectionTracker {
    private final AppConnections connections;
    private final Ticker ticker;
    private final Instant startedAt;
    private final long startNanos;
    private Set<Connection> previous;
    private int newConnections;
    private long lastNewNanos = -1;
    private Connection lastNew;
    private final Map<InetAddress, Source> sources = new HashMap<>();

    private static final class Source {
        int count;
        long lastNanos;
    }

    private NewConnectionTracker(AppConnections connections, Ticker ticker, Clock clock) throws IOException {
        this.connections = connections;
        this.ticker = ticker;
        this.startedAt = clock.instant();
        this.startNanos = ticker.nanoTime();
        this.previous = connections.now();
    }

    /** Starts tracking now: the connections open at this moment are not new. */
    static NewConnectionTracker start(AppConnections connections, Ticker ticker, Clock clock) throws IOException {
        return new NewConnectionTracker(connections, ticker, clock);
    }

    /** Reads the table once; returns how many new connections appeared since the previous poll. */
    int poll() throws IOException {
        Set<Connection> current = connections.now();
        long now = ticker.nanoTime();
        int found = 0;
        for (Connection connection : current) {
            if (!previous.contains(connection)) {
                found++;
                lastNew = connection;
                Source source = sources.computeIfAbsent(connection.peerAddress(), a -> new Source());
                source.count++;
                source.lastNanos = now;
            }
        }
        if (found > 0) {
            newConnections += found;
            lastNewNanos = now;
        }
        previous = current;
        return found;
    }

    /** Time since the last new connection, or since tracking started when none arrived. */
    Duration quietFor() {
        return Duration.ofNanos(ticker.nanoTime() - (lastNewNanos < 0 ? startNanos : lastNewNanos));
    }

    /** How many new connections were seen so far. */
    int newConnections() {
        return newConnections;
    }

    /** When the last new connection was seen, counted from the start; empty when none arrived. */
    Optional<Duration> lastNewConnection() {
        return lastNewNanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(lastNewNanos - startNanos));
    }

    TrafficReport report() {
        double watched = seconds(ticker.nanoTime() - startNanos);
        Double last = lastNewNanos < 0 ? null : seconds(lastNewNanos - startNanos);
        List<TrafficReport.Source> shown = sources.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<InetAddress, Source> e) -> e.getValue().lastNanos).reversed())
                .limit(TrafficReport.SOURCES_SHOWN)
                .map(e -> new TrafficReport.Source(e.getKey().getHostAddress(), e.getValue().count, seconds(e.getValue().lastNanos - startNanos)))
                .toList();
        return new TrafficReport(connections.ports(), watched, newConnections, last,
                last == null ? null : startedAt.plusNanos(lastNewNanos - startNanos),
                lastNew == null ? null : peer(lastNew), seconds(quietFor().toNanos()), shown, null);
    }

    /** A report for a table that could not be read at all. */
    static TrafficReport unreadable(AppConnections connections, String error) {
        return new TrafficReport(connections.ports(), 0, 0, null, null, null, 0, List.of(), error);
    }

    private static String peer(Connection connection) {
        String host = connection.peerAddress().getHostAddress();
        return (connection.peerAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + connection.peerPort();
    }

    private static double seconds(long nanos) {
        return Math.round(nanos / 1e6) / 1e3;
    }
}
