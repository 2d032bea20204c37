package io.lameduck.sockets;

import io.lameduck.config.Cidr;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The application's connections read from the kernel's TCP table ({@code /proc/net/tcp{,6}}): every socket on one
 * of its ports that is neither listening nor closed, peers in {@code ignorePeers} left out. The table has no
 * per-socket data counters, so only new connections can be told from old ones: the fallback when {@code ss} is
 * missing (see {@link SocketStatsConnections}).
 */
public final class ProcAppConnections implements AppConnections {
    private final TcpConnectionTable table;
    private final List<Integer> ports;
    private final List<Cidr> ignorePeers;
    private final String blindSpot;

    public ProcAppConnections(TcpConnectionTable table, List<Integer> ports, List<Cidr> ignorePeers, String blindSpot) {
        this.table = table;
        this.ports = List.copyOf(ports);
        this.ignorePeers = List.copyOf(ignorePeers);
        this.blindSpot = blindSpot;
    }

    @Override
    public List<Integer> ports() {
        return ports;
    }

    @Override
    public Map<Connection, Received> now() throws IOException {
        Map<Connection, Received> found = new HashMap<>();
        for (TcpConnection socket : table.read()) {
            if (socket.state() != TcpConnection.LISTEN && socket.state() != TcpConnection.CLOSE
                    && ports.contains(socket.localPort()) && !socket.peerIn(ignorePeers)) {
                found.put(new Connection(socket.localAddress(), socket.localPort(), socket.remoteAddress(), socket.remotePort()),
                        Received.UNKNOWN);
            }
        }
        return found;
    }

    @Override
    public Set<Integer> listening() throws IOException {
        Set<Integer> listening = new TreeSet<>(table.listeningPorts());
        listening.retainAll(ports);
        return listening;
    }

    @Override
    public String requestsBlindSpot() {
        return blindSpot;
    }
}
