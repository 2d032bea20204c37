package io.lameduck;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.Collections;
import java.util.Optional;

/** Addresses of this machine, for tests that need a caller the agent sees as neither loopback nor the node. */
public final class LocalAddresses {
    /** An IPv4 address of an up, non-loopback interface; empty on a machine that has none. */
    public static Optional<InetAddress> nonLoopback() throws IOException {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nic.isUp() || nic.isLoopback()) {
                continue;
            }
            for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                if (address instanceof Inet4Address) {
                    return Optional.of(address);
                }
            }
        }
        return Optional.empty();
    }

    private LocalAddresses() {}
}
