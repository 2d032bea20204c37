package io.lameduck.drain;

import io.lameduck.config.Cidr;
import io.lameduck.sockets.AppConnections;
import io.lameduck.sockets.ProcAppConnections;
import io.lameduck.sockets.SocketStatsConnections;
import io.lameduck.sockets.TcpConnectionTable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real application on loopback for connection-tracking tests: a server socket on port 0 that accepts and keeps
 * every connection (like a keep-alive server), and clients that open connections to it and send on them. The
 * kernel's own tables ({@code ss}'s TCP_INFO, {@code /proc/net/tcp{,6}}) are what the tracker reads.
 */
final class LoopbackApp implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    LoopbackApp() throws IOException {
        server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    sockets.add(server.accept());
                } catch (IOException e) {
                    return; // closed
                }
            }
        }, "loopback-app-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Opens one client connection, sends a request on it and keeps it open (a keep-alive client). */
    Socket connect() throws IOException {
        Socket client = connectSilently();
        send(client);
        return client;
    }

    /** Opens one client connection that sends nothing (a TCP health check) and keeps it open. */
    Socket connectSilently() throws IOException {
        Socket client = new Socket();
        client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()), 2000);
        sockets.add(client);
        return client;
    }

    /**
     * The app answers and closes first (as an HTTP server does after {@code Connection: close}), then the client closes
     * too: the app's side of the connection ends in TIME_WAIT.
     */
    void closeByApp(Socket client) throws IOException {
        Socket accepted = org.awaitility.Awaitility.await("the app accepts the connection from port " + client.getLocalPort())
                .atMost(java.time.Duration.ofSeconds(5))
                .until(() -> sockets.stream().filter(s -> s.getPort() == client.getLocalPort() && s != client).findFirst(),
                        java.util.Optional::isPresent)
                .orElseThrow();
        // It reads the requests first, as a server does: closing with unread data would send a reset, not a FIN.
        accepted.setSoTimeout(2000);
        java.io.InputStream in = accepted.getInputStream();
        do {
            in.read(new byte[4096]);
        } while (in.available() > 0);
        accepted.close();
        client.getInputStream().read(); // the app's FIN: -1
        client.close();
    }

    /** The application's connections as the agent sees them: lameduck-sockdiag, else {@code ss} (TCP_INFO, requests visible). */
    AppConnections connections(Cidr... ignorePeers) {
        return SocketStatsConnections.find(List.of(port()), List.of(ignorePeers), TcpConnectionTable.system())
                .orElseThrow(() -> new IllegalStateException(
                        "lameduck-sockdiag (target/, built by scripts/mvn compile) or ss (iproute2) is needed by these tests"));
    }

    /** The application's connections from {@code /proc/net/tcp}: new connections only. */
    AppConnections procConnections(Cidr... ignorePeers) {
        return new ProcAppConnections(TcpConnectionTable.system(), List.of(port()), List.of(ignorePeers), "no ss in this test");
    }

    /** Sends one request's worth of bytes on {@code client}: the server never reads it, the kernel counts it. */
    static void send(Socket client) throws IOException {
        client.getOutputStream().write("POST /orders HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        client.getOutputStream().flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }
}
