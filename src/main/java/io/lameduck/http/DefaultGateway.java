package io.lameduck.http;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The pod's IPv4 default gateway, from the kernel's routing table ({@code /proc/net/route}). On bridge CNIs it is the
 * node's own address on the pod network, and the kubelet's preStop {@code httpGet} comes from it, not from
 * {@code status.hostIP}.
 */
public final class DefaultGateway {
    public static final Path PROC_NET_ROUTE = Path.of("/proc/net/route");
    /** The routing table of a pod is a few lines; a longer file is read only this far. */
    static final int MAX_BYTES = 64 * 1024;

    private DefaultGateway() {}

    /** The default route's gateway; empty without one, or when the table cannot be read. */
    public static Optional<InetAddress> read(Path routeTable) {
        String table;
        try (InputStream in = Files.newInputStream(routeTable)) {
            table = new String(in.readNBytes(MAX_BYTES), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return Optional.empty();
        }
        return parse(table);
    }

    /**
     * Parses the table: columns {@code Iface Destination Gateway Flags ...}, addresses as 8 hex digits in the host's
     * (little-endian) byte order. The default route has destination 0 and the RTF_GATEWAY flag (2).
     */
    static Optional<InetAddress> parse(String table) {
        for (String line : table.split("\n")) {
            String[] columns = line.trim().split("\\s+");
            if (columns.length < 4 || !columns[1].equals("00000000") || !columns[2].matches("[0-9A-Fa-f]{8}")
                    || !columns[3].matches("[0-9A-Fa-f]{1,4}") || (Integer.parseInt(columns[3], 16) & 0x2) == 0) {
                continue;
            }
            long value = Long.parseLong(columns[2], 16);
            byte[] address = {(byte) value, (byte) (value >> 8), (byte) (value >> 16), (byte) (value >> 24)};
            try {
                return Optional.of(InetAddress.getByAddress(address));
            } catch (UnknownHostException e) {
                return Optional.empty(); // cannot happen for 4 bytes
            }
        }
        return Optional.empty();
    }
}
