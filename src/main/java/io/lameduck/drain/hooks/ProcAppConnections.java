package io.lameduck.drain.hooks;

import io.lameduck.config.Cidr;
import io.lameduck.drain.AppConnections;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The application's connections read from the kernel's TCP table ({@code /proc/net/tcp{,6}}): every socket on one
 * of its ports that is neither listening nor closed, peers in {@code ignorePeers} left out.
 */
public final class ProcAppConnections implements AppConnections {
    private final TcpConnectionTable table;
    private final List<Integer> ports;
    private final List<Cidr> ignorePeers;

    public ProcAppConnections(TcpConnectionTable table, List<Integer> ports, List<Cidr> ignorePeers) {
        this.table = table;
        this.ports = List.copyOf(ports);
        this.ignorePeers = List.copyOf(ignorePeers);
    }

    @Override
    public List<Integer> ports() {
        return ports;
    }

    @Override
    public Set<Connection> now() throws IOException {
        Set<Connection> found = new HashSet<>();
        for (TcpConnection socket : table.read()) {
            if (socket.state() != TcpConnection.LISTEN && socket.state() != TcpConnection.CLOSE
                    && ports.contains(socket.localPort()) && !socket.peerIn(ignorePeers)) {
                found.add(new Connection(socket.localAddress(), socket.localPort(), socket.remoteAddress(), socket.remotePort()));
            }
        }
        return found;
    }
}
