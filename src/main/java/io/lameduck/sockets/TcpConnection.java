package io.lameduck.sockets;

import io.lameduck.config.Cidr;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

/**
 * One socket of the kernel's TCP table.
 *
 * @param localAddress the address the socket is bound to (all zeros when listening on every address)
 * @param remoteAddress an {@code Inet4Address} also for IPv4-mapped IPv6 peers ({@code ::ffff:a.b.c.d}), as
 *     {@link InetAddress#getByAddress(byte[])} returns them, so IPv4 networks match them
 * @param state the kernel's TCP state number ({@code 1} is ESTABLISHED)
 */
public record TcpConnection(InetAddress localAddress, int localPort, InetAddress remoteAddress, int remotePort, int state) {
    static final int ESTABLISHED = 0x01;
    static final int CLOSE = 0x07;
    static final int LISTEN = 0x0A;

    public boolean isEstablished() {
        return state == ESTABLISHED;
    }

    public boolean peerIn(List<Cidr> networks) {
        for (Cidr network : networks) {
            if (network.contains(remoteAddress)) {
                return true;
            }
        }
        return false;
    }

    /** The peer as {@code 10.0.0.5:41234} or {@code [fd00::5]:41234}. */
    public String peer() {
        String host = remoteAddress.getHostAddress();
        return (remoteAddress instanceof Inet6Address ? "[" + host + "]" : host) + ":" + remotePort;
    }
}
