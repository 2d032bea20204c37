package io.lameduck.drain;

import io.lameduck.config.Cidr;
import io.lameduck.drain.hooks.ProcAppConnections;
import io.lameduck.drain.hooks.TcpConnectionTable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real application on loopback for connection-tracking tests: a server socket on port 0 that accepts and keeps
 * every connection (like a keep-alive server), and clients that open connections to it. The kernel's own table
 * ({@code /proc/net/tcp{,6}}) is what the tracker reads.
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

    /** Opens one client connection and keeps it open. */
    Socket connect() throws IOException {
        Socket client = new Socket();
        client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()), 2000);
        sockets.add(client);
        return client;
    }

    /** The application's connections as the agent sees them, from the real table. */
    AppConnections connections(Cidr... ignorePeers) {
        return new ProcAppConnections(TcpConnectionTable.system(), List.of(port()), List.of(ignorePeers));
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }
}
