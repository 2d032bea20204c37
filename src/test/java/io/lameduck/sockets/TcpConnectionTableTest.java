package io.lameduck.sockets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lameduck.config.Cidr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TcpConnectionTableTest {
    @TempDir
    Path dir;

    @Test
    void countsEstablishedConnectionsOnALocalPortAcrossIpv4Ipv6AndMappedAddresses() throws IOException {
        TcpConnectionTable table = ProcNetSamples.table(dir);

        assertThat(table.established(8080)).isEqualTo(4);
        assertThat(table.established(8081)).isEqualTo(1);
        assertThat(table.established(40000)).isEqualTo(1);
        assertThat(table.established(9090)).isZero();
    }

    @Test
    void decodesPeersOfEstablishedConnectionsIncludingIpv4MappedAsIpv4() throws IOException {
        List<TcpConnection> on8080 = established8080(ProcNetSamples.table(dir));

        assertThat(on8080).extracting(TcpConnection::peer)
                .containsExactly("10.0.0.5:50000", "127.0.0.1:54321", "[fd00:0:0:0:0:0:0:5]:50003", "10.0.0.10:50004");
        assertThat(on8080.get(3).remoteAddress()).isInstanceOf(Inet4Address.class);
    }

    @Test
    void readsAllStatesButOnlyState01IsEstablished() throws IOException {
        List<TcpConnection> all = ProcNetSamples.table(dir).read();

        assertThat(all).hasSize(10);
        assertThat(all).filteredOn(c -> c.localPort() == 8080).extracting(TcpConnection::state)
                .containsExactly(0x0A, 0x01, 0x06, 0x08, 0x01, 0x0A, 0x01, 0x01);
    }

    @Test
    void ignoredPeerNetworksMatchIpv4IncludingMappedPeersAndIpv6Separately() throws IOException {
        List<TcpConnection> on8080 = established8080(ProcNetSamples.table(dir));
        List<Cidr> podNetwork = List.of(Cidr.parse("10.0.0.0/24").orElseThrow());
        List<Cidr> ipv6Pods = List.of(Cidr.parse("fd00::/8").orElseThrow());

        assertThat(on8080.stream().filter(c -> !c.peerIn(podNetwork)).map(TcpConnection::peer))
                .containsExactly("127.0.0.1:54321", "[fd00:0:0:0:0:0:0:5]:50003");
        assertThat(on8080.stream().filter(c -> c.peerIn(ipv6Pods)).map(TcpConnection::peer))
                .containsExactly("[fd00:0:0:0:0:0:0:5]:50003");
    }

    @Test
    void missingTcp6FileMeansNoIpv6ConnectionsButBothMissingIsAnError() throws IOException {
        Path tcp = Files.writeString(dir.resolve("tcp"), ProcNetSamples.TCP);
        TcpConnectionTable ipv4Only = new TcpConnectionTable(tcp, dir.resolve("absent6"), java.nio.ByteOrder.LITTLE_ENDIAN);
        TcpConnectionTable neither = new TcpConnectionTable(dir.resolve("absent"), dir.resolve("absent6"));

        assertThat(ipv4Only.established(8080)).isEqualTo(2);
        assertThatThrownBy(() -> neither.established(8080))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("absent")
                .hasMessageContaining("network namespace");
    }

    @Test
    void skipsLinesThatAreNotSocketEntries() {
        assertThat(TcpConnectionTable.parse("", java.nio.ByteOrder.LITTLE_ENDIAN)).isEmpty();
        assertThat(TcpConnectionTable.parse("   7: 0100007F:XYZ 0100007F:D431 01", java.nio.ByteOrder.LITTLE_ENDIAN)).isEmpty();
        assertThat(TcpConnectionTable.parse("   7: 0100:1F90 0100007F:D431 01", java.nio.ByteOrder.LITTLE_ENDIAN)).isEmpty();
    }

    @Test
    void seesARealLoopbackConnectionOnThisMachineUntilItCloses() throws IOException {
        TcpConnectionTable table = TcpConnectionTable.system();
        try (ServerSocket server = new ServerSocket(0)) {
            int port = server.getLocalPort();
            assertThat(table.established(port)).isZero();
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port); Socket accepted = server.accept()) {
                assertThat(accepted.getPort()).isEqualTo(client.getLocalPort());
                await().atMost(Duration.ofSeconds(5)).until(() -> table.established(port) == 1);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> table.established(port) == 0);
        }
    }

    private static List<TcpConnection> established8080(TcpConnectionTable table) throws IOException {
        return table.read().stream().filter(c -> c.isEstablished() && c.localPort() == 8080).collect(Collectors.toList());
    }
}
