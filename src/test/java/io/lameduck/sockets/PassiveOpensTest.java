package io.lameduck.sockets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kernel's count of accepted connections: read from this machine's /proc, and from files standing in for it. */
class PassiveOpensTest {
    /** A kernel 6.1 /proc/net/snmp, shortened to its IP and TCP lines. */
    private static final String SNMP = """
            Ip: Forwarding DefaultTTL InReceives InHdrErrors
            Ip: 1 64 4087215 0
            Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs
            Tcp: 1 200 120000 -1 186054 133774 37520 21014 0 3583797
            Udp: InDatagrams NoPorts
            Udp: 5 0
            """;

    @TempDir
    Path dir;

    @Test
    void readsTheTcpPassiveOpensCount() throws IOException {
        Path file = Files.writeString(dir.resolve("snmp"), SNMP);
        assertThat(new PassiveOpens(file).read()).isEqualTo(133774);
    }

    @Test
    void countsEveryConnectionAcceptedOnThisMachine() throws IOException {
        PassiveOpens opens = PassiveOpens.system();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            long before = opens.read();
            for (int i = 0; i < 3; i++) {
                try (Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort()); Socket accepted = server.accept()) {
                    assertThat(accepted.isConnected()).isTrue();
                }
            }
            // Other processes on the machine may accept connections meanwhile: at least ours.
            assertThat(opens.read() - before).isGreaterThanOrEqualTo(3);
        }
    }

    @Test
    void aFileThatIsNotTheKernelsCountersSaysSo() throws IOException {
        assertThatThrownBy(() -> new PassiveOpens(Files.writeString(dir.resolve("none"), "Ip: Forwarding\nIp: 1\n")).read())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no Tcp PassiveOpens count in");
        assertThatThrownBy(() -> new PassiveOpens(Files.writeString(dir.resolve("nan"), "Tcp: PassiveOpens\nTcp: many\n")).read())
                .hasMessageContaining("no Tcp PassiveOpens count in");
        assertThatThrownBy(() -> new PassiveOpens(Files.writeString(dir.resolve("negative"), "Tcp: PassiveOpens\nTcp: -4\n")).read())
                .hasMessageContaining("no Tcp PassiveOpens count in");
        assertThatThrownBy(() -> new PassiveOpens(Files.writeString(dir.resolve("names only"), "Tcp: PassiveOpens\n")).read())
                .hasMessageContaining("no Tcp PassiveOpens count in");
        assertThatThrownBy(() -> new PassiveOpens(Files.writeString(dir.resolve("huge"), "Tcp: " + "x".repeat(PassiveOpens.MAX_BYTES))).read())
                .hasMessageContaining("is larger than 65536 bytes");
        assertThatThrownBy(() -> new PassiveOpens(dir.resolve("absent")).read()).isInstanceOf(IOException.class);
    }
}
