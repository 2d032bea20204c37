package io.lameduck.drain;

import io.lameduck.sockets.AppConnections;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stand-in for the kernel's socket table (the real readers are tested on loopback): the test says which connections
 * exist and what they received, or that the table cannot be read.
 */
final class ScriptedConnections implements AppConnections {
    final Map<Connection, Received> connections = new ConcurrentHashMap<>();
    /** The ports a socket listens on; the app's 8080 unless a test says otherwise. */
    volatile Set<Integer> listening = Set.of(8080);
    /** What {@link #requestsBlindSpot()} says: null (requests are seen) unless a test plays a reader without {@code ss}. */
    volatile String blindSpot;
    private final String unreadable;

    private ScriptedConnections(String unreadable) {
        this.unreadable = unreadable;
    }

    /** A table on port 8080 holding what the test puts in {@link #connections}. */
    static ScriptedConnections onPort8080() {
        return new ScriptedConnections(null);
    }

    /** A table on port 8080 whose every read fails with {@code why}. */
    static ScriptedConnections unreadable(String why) {
        return new ScriptedConnections(why);
    }

    @Override
    public List<Integer> ports() {
        return List.of(8080);
    }

    @Override
    public Map<Connection, Received> now() throws IOException {
        if (unreadable != null) {
            throw new IOException(unreadable);
        }
        return Map.copyOf(connections);
    }

    @Override
    public Set<Integer> listening() throws IOException {
        if (unreadable != null) {
            throw new IOException(unreadable);
        }
        return listening;
    }

    @Override
    public String requestsBlindSpot() {
        return blindSpot;
    }
}
