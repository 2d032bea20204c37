package io.lameduck.drain;

import java.io.IOException;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * The application's TCP connections, as the kernel lists them. The drain only knows this interface; the reader of
 * {@code /proc/net/tcp{,6}} implements it elsewhere.
 */
public interface AppConnections {
    /** The application ports whose connections are listed. */
    List<Integer> ports();

    /**
     * Every connection on {@link #ports()} that exists now, in any state but listening (a short connection is still
     * listed in TIME_WAIT after it closed); connections from ignored peers are left out.
     *
     * @throws IOException when the table cannot be read
     */
    Set<Connection> now() throws IOException;

    /** One connection: its 4-tuple. A 4-tuple not seen before is a new connection. */
    record Connection(InetAddress localAddress, int localPort, InetAddress peerAddress, int peerPort) {}
}
