package io.lameduck.http;

import java.time.Duration;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.internal.HttpConnection;

/**
 * While the admin server stops, closes its connections that are between requests, every {@link #PERIOD}.
 *
 * <p>Jetty's graceful stop waits for every connection to close, and closes an idle one only after its shutdown idle
 * timeout (1 s). The kubelet's preStop client keeps the keep-alive connection its {@code /prestop} came on, so every
 * stop took that second, and the pod's termination with it (the agent is the last of the pod's containers to exit;
 * measured on the test node: it exited 1 s after the app). A connection whose request is in progress (a
 * {@code /prestop} answered as the stop begins, a body still arriving) is left to finish within the stop's grace, as
 * before. Only a client that writes its next request at the very moment of the close loses it, as on any server that
 * stops.
 */
final class IdleConnectionCloser implements AutoCloseable {
    /** Short against the second it saves, long enough not to busy a CPU the node needs while pods stop. */
    static final Duration PERIOD = Duration.ofMillis(50);

    private final ServerConnector connector;
    private final Thread thread;

    private IdleConnectionCloser(ServerConnector connector) {
        this.connector = connector;
        this.thread = new Thread(this::run, "lameduck-stop-idle-close");
        thread.setDaemon(true);
    }

    /** Starts closing, at once and then every period, until {@link #close}. */
    static IdleConnectionCloser start(ServerConnector connector) {
        IdleConnectionCloser closer = new IdleConnectionCloser(connector);
        closer.thread.start();
        return closer;
    }

    private void run() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                closeIdle(connector);
                Thread.sleep(PERIOD.toMillis());
            }
        } catch (InterruptedException e) {
            // the stop is over
        }
    }

    /** Closes the connections between requests. */
    static void closeIdle(ServerConnector connector) {
        for (EndPoint endPoint : connector.getConnectedEndPoints()) {
            if (betweenRequests(endPoint.getConnection())) {
                endPoint.close();
            }
        }
    }

    /**
     * An HTTP/1 connection with no request in progress: its channel holds a request from the end of its headers until
     * the response is complete (an async {@code /prestop} waiting on the drain included; Jetty's message counters do not
     * tell that apart). Jetty's internal class, so a Jetty upgrade that changes it fails {@code SignalMilestonesIT} and
     * {@code StopWithOpenConnectionsTest}; any other connection is left to Jetty's timeout.
     */
    static boolean betweenRequests(Connection connection) {
        return connection instanceof HttpConnection http && http.getHttpChannel().getRequest() == null;
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(1).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
