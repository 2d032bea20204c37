package io.lameduck.sockets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sample {@code /proc/net/tcp} and {@code tcp6} files as a little-endian kernel prints them. The application is
 * pod 10.0.0.7 / fd00::7 listening on port 8080 (0x1F90).
 */
public final class ProcNetSamples {
    static final String TCP = String.join("\n",
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            // LISTEN on 8080
            "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1001 1 0000000000000000 100 0 0 10 0",
            // ESTABLISHED 10.0.0.7:8080 <- 10.0.0.5:50000
            "   1: 0700000A:1F90 0500000A:C350 01 00000000:00000000 02:000A7B2C 00000000  1000        0 1002 2 0000000000000000 20 4 30 10 -1",
            // TIME_WAIT and CLOSE_WAIT on 8080: not established
            "   2: 0700000A:1F90 0600000A:C351 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000",
            "   3: 0700000A:1F90 0800000A:C352 08 00000000:00000000 00:00000000 00000000  1000        0 1004 1 0000000000000000 20 4 30 10 -1",
            // ESTABLISHED outbound from port 40000 to 10.0.0.9:8080: the remote port is 8080, not the local one
            "   4: 0700000A:9C40 0900000A:1F90 01 00000000:00000000 02:000A7B2C 00000000  1000        0 1005 2 0000000000000000 20 4 30 10 -1",
            // ESTABLISHED 127.0.0.1:8080 <- 127.0.0.1:54321
            "   5: 0100007F:1F90 0100007F:D431 01 00000000:00000000 02:000A7B2C 00000000  1000        0 1006 2 0000000000000000 20 4 30 10 -1",
            "");

    static final String TCP6 = String.join("\n",
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2001 1 0000000000000000 100 0 0 10 0",
            // ESTABLISHED [fd00::7]:8080 <- [fd00::5]:50003
            "   1: 000000FD000000000000000007000000:1F90 000000FD000000000000000005000000:C353 01 00000000:00000000 02:000A7B2C 00000000  1000        0 2002 2 0000000000000000 20 4 30 10 -1",
            // ESTABLISHED, IPv4 client on a dual-stack socket: [::ffff:10.0.0.7]:8080 <- [::ffff:10.0.0.10]:50004
            "   2: 0000000000000000FFFF00000700000A:1F90 0000000000000000FFFF00000A00000A:C354 01 00000000:00000000 02:000A7B2C 00000000  1000        0 2003 2 0000000000000000 20 4 30 10 -1",
            // ESTABLISHED [::1]:8081 <- [::1]:50005: another port
            "   3: 00000000000000000000000001000000:1F91 00000000000000000000000001000000:C355 01 00000000:00000000 02:000A7B2C 00000000  1000        0 2004 2 0000000000000000 20 4 30 10 -1",
            "");

    private ProcNetSamples() {}

    /** Writes both samples into {@code dir} and returns a table reading them. */
    public static TcpConnectionTable table(Path dir) throws IOException {
        return new TcpConnectionTable(Files.writeString(dir.resolve("tcp"), TCP), Files.writeString(dir.resolve("tcp6"), TCP6),
                java.nio.ByteOrder.LITTLE_ENDIAN);
    }
}
