package io.lameduck.sockets;

import java.io.UncheckedIOException;

/**
 * Counts the application's established TCP connections, as seen from the pod's network namespace. This is what the
 * {@code lameduck_app_connections{port}} metric samples; {@link TcpConnectionTable#system()} is the real one.
 */
public interface ConnectionCounter {
    /**
     * The number of ESTABLISHED TCP connections (IPv4 and IPv6) whose local port is {@code port}, from any peer:
     * the connections clients hold to an application listening on that port.
     *
     * @throws UncheckedIOException if the connection table cannot be read
     */
    int established(int port);
}
