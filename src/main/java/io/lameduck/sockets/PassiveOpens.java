package io.lameduck.sockets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel's count of TCP connections accepted in this network namespace since it was created: {@code PassiveOpens}
 * on the {@code Tcp:} lines of {@code /proc/net/snmp} (one count for IPv4 and IPv6). The sidecar shares the pod's
 * namespace, so it counts every connection any container of the pod accepted, whatever the port and peer; reading it
 * costs no process and no socket walk, so it can be read all the time, where the socket table is read only while
 * draining.
 */
public final class PassiveOpens {
    public static final Path PROC_NET_SNMP = Path.of("/proc/net/snmp");
    /** The file is about 1.5 KiB; more than this is not that file. */
    static final int MAX_BYTES = 64 * 1024;
    private static final String TCP = "Tcp:";
    private static final String FIELD = "PassiveOpens";

    private final Path file;

    public PassiveOpens(Path file) {
        this.file = file;
    }

    public static PassiveOpens system() {
        return new PassiveOpens(PROC_NET_SNMP);
    }

    /** The count now. */
    public long read() throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES) {
            throw new IOException(file + " is larger than " + MAX_BYTES + " bytes: not the kernel's SNMP counters");
        }
        return parse(new String(bytes, StandardCharsets.US_ASCII), file);
    }

    /** The {@code PassiveOpens} value from the text of {@code /proc/net/snmp}: a {@code Tcp:} line of names, then one of values. */
    static long parse(String text, Path from) throws IOException {
        String[] names = null;
        for (String line : text.split("\n")) {
            if (!line.startsWith(TCP)) {
                continue;
            }
            String[] fields = line.substring(TCP.length()).trim().split("\\s+");
            if (names == null) {
                names = fields;
                continue;
            }
            for (int i = 0; i < names.length && i < fields.length; i++) {
                if (names[i].equals(FIELD)) {
                    try {
                        long value = Long.parseLong(fields[i]);
                        if (value >= 0) {
                            return value;
                        }
                    } catch (NumberFormatException e) {
                        break;
                    }
                }
            }
            break;
        }
        throw new IOException("no Tcp " + FIELD + " count in " + from + " (is /proc mounted from a Linux kernel?)");
    }
}
