package io.lameduck.sockets;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.config.Cidr;
import io.lameduck.sockets.AppConnections.Connection;
import io.lameduck.sockets.AppConnections.Received;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code ss} reader: its parsing of real output shapes, the real {@code ss} on loopback, and an {@code ss} that fails. */
class SocketStatsConnectionsTest {
    private static final TcpConnectionTable PROC = TcpConnectionTable.system();

    private static SocketStatsConnections reader(Path ss, List<Integer> ports, Cidr... ignore) {
        return new SocketStatsConnections(ss, ports, List.of(ignore), PROC);
    }

    private static Connection connection(String local, int localPort, String peer, int peerPort) throws Exception {
        return new Connection(InetAddress.getByName(local), localPort, InetAddress.getByName(peer), peerPort);
    }

    @Test
    void parsesEveryAddressShapeAndTheDataCounters() throws Exception {
        String output = String.join("\n",
                "ESTAB      0      0               10.244.0.5:8080          10.244.0.9:42212 cubic wscale:10,10 rto:200 bytes_received:1234 segs_out:1 lastsnd:300 lastrcv:45 lastack:300",
                "ESTAB      0      0               10.244.0.5:8080          10.244.0.1:42213 cubic wscale:10,10 rto:200 lastsnd:300 lastrcv:1200 lastack:300",
                "TIME-WAIT  0      0               10.244.0.5:8080          10.244.0.1:42214",
                "SYN-RECV   0      0               10.244.0.5:8080          10.244.0.1:42217",
                "ESTAB      0      0               10.244.0.5:8080          10.244.0.1:42218 cubic wscale:7,7 rto:204 mss:1448 cwnd:10",
                "ESTAB      1      0      [::ffff:10.244.0.5]:8080 [::ffff:10.244.0.7]:50300 bbr bytes_received:1 lastrcv:304",
                "ESTAB      0      0      [fe80::1%eth0]:8080 [fe80::2%eth0]:50301 bbr bytes_received:7 lastrcv:3",
                "ESTAB      0      0               10.244.0.5:9090          10.244.0.9:42215 bytes_received:9 lastrcv:1",
                "ESTAB      0      0               10.244.0.5:8080          192.168.7.1:42216 bytes_received:9 lastrcv:1",
                "LISTEN     0      128             0.0.0.0:8080          0.0.0.0:*",
                "Cannot open netlink socket: nonsense line",
                "");
        Map<Connection, Received> parsed = reader(Path.of("/nonexistent/ss"), List.of(8080), Cidr.parse("192.168.0.0/16").orElseThrow()).parse(output);

        assertThat(parsed).containsOnly(
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.9", 42212), new Received(1234, Duration.ofMillis(45))),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 42213), new Received(0, Duration.ofMillis(1200))),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 42214), Received.CLOSED_BY_APP),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 42217), new Received(0, Duration.ZERO)),
                // accepted this millisecond: ss leaves out the zero bytes_received and lastrcv
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 42218), new Received(0, Duration.ZERO)),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.7", 50300), new Received(1, Duration.ofMillis(304))),
                Map.entry(connection("fe80::1", 8080, "fe80::2", 50301), new Received(7, Duration.ofMillis(3))));
    }

    @Test
    void aTimeWaitTimerDatesTheAppsCloseAndOtherTimersAreNoData() throws Exception {
        String output = String.join("\n",
                "TIME-WAIT  0      0      10.244.0.5:8080 10.244.0.1:1 timer:(timewait,58sec,0)",
                "TIME-WAIT  0      0      10.244.0.5:8080 10.244.0.1:2 timer:(timewait,3.404ms,0)",
                "TIME-WAIT  0      0      10.244.0.5:8080 10.244.0.1:3 timer:(timewait,850ms,0)",
                "TIME-WAIT  0      0      10.244.0.5:8080 10.244.0.1:4 timer:(timewait,1min,0)",
                "TIME-WAIT  0      0      10.244.0.5:8080 10.244.0.1:5 timer:(timewait,,0)",
                "TIME-WAIT  0      0      10.244.0.5:8080 10.244.0.1:6 timer:(timewait,soon,0)",
                "TIME-WAIT  0      0      10.244.0.5:8080 10.244.0.1:7 timer:(timewait,2min,0)",
                "ESTAB      0      0      10.244.0.5:8080 10.244.0.1:8 timer:(keepalive,119min,0)",
                "SYN-RECV   0      0      10.244.0.5:8080 10.244.0.1:9 timer:(on,1.000ms,0)",
                "ESTAB      0      0      10.244.0.5:8080 10.244.0.1:10 timer:(keepalive,3.404ms,0) cubic bytes_received:77 lastrcv:12",
                "");
        Map<Connection, Received> parsed = reader(Path.of("/nonexistent/ss"), List.of(8080)).parse(output);

        assertThat(parsed).containsOnly(
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 1), Received.closedByApp(Duration.ofSeconds(2))),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 2), Received.closedByApp(Duration.ofMillis(56_596))),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 3), Received.closedByApp(Duration.ofMillis(59_150))),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 4), Received.closedByApp(Duration.ZERO)),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 5), Received.closedByApp(Duration.ofSeconds(60))),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 6), Received.CLOSED_BY_APP), // unreadable: undated
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 7), Received.closedByApp(Duration.ZERO)), // never negative
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 8), Received.UNKNOWN), // a timer is no TCP_INFO
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 9), new Received(0, Duration.ZERO)),
                Map.entry(connection("10.244.0.5", 8080, "10.244.0.1", 10), new Received(77, Duration.ofMillis(12))));
        assertThat(parsed.get(connection("10.244.0.5", 8080, "10.244.0.1", 1)).closedAgo()).contains(Duration.ofSeconds(2));
        assertThat(Received.CLOSED_BY_APP.closedAgo()).isEmpty();
        assertThat(new Received(77, Duration.ofMillis(12)).closedAgo()).as("open: not closed").isEmpty();
    }

    @Test
    void theRealSsDatesAConnectionTheAppClosedFirst() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Socket client = new Socket();
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            Connection key;
            try (Socket accepted = server.accept()) {
                key = new Connection(accepted.getLocalAddress(), server.getLocalPort(), client.getLocalAddress(), client.getLocalPort());
            } // the app's side closes first: it ends in TIME-WAIT once the client closes too
            client.close();
            SocketStatsConnections ss = SocketStatsConnections.find(List.of(server.getLocalPort()), List.of(), PROC).orElseThrow();
            Received closed = null;
            for (int i = 0; i < 50 && (closed == null || !closed.closedByApp()); i++) {
                Thread.sleep(20);
                closed = ss.now().get(key);
            }

            assertThat(closed).isNotNull();
            assertThat(closed.closedByApp()).isTrue();
            assertThat(closed.closedAgo()).hasValueSatisfying(ago -> assertThat(ago).isBetween(Duration.ZERO, Duration.ofSeconds(3)));
        }
    }

    @Test
    void theFilterNamesEveryPort() {
        assertThat(SocketStatsConnections.filter(List.of(8080, 9090))).isEqualTo("( sport = :8080 or sport = :9090 )");
    }

    @Test
    void theRealSsSeesDataArriveOnAKeepAliveConnection() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
                Socket client = new Socket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            try (Socket accepted = server.accept()) {
                SocketStatsConnections ss = SocketStatsConnections.find(List.of(server.getLocalPort()), List.of(), PROC).orElseThrow();
                Connection key = new Connection(accepted.getLocalAddress(), server.getLocalPort(), client.getLocalAddress(), client.getLocalPort());
                assertThat(ss.now().get(key).bytes()).isZero();
                client.getOutputStream().write(new byte[321]);
                client.getOutputStream().flush();
                Thread.sleep(50);
                Received after = ss.now().get(key);
                assertThat(after.bytes()).isEqualTo(321);
                assertThat(after.sinceLastData()).isLessThan(Duration.ofSeconds(2));
                assertThat(ss.requestsBlindSpot()).isNull();
            }
        }
    }

    @Test
    void anSsThatFailsHandsOverToProcNetTcpAndTheBlindSpotIsReported(@TempDir Path dir) throws Exception {
        Path failing = script(dir, "ss-failing", "echo 'Cannot open netlink socket: Operation not permitted' >&2; exit 1");
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
                Socket client = new Socket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            SocketStatsConnections ss = reader(failing, List.of(server.getLocalPort()));
            Map<Connection, Received> seen = ss.now();

            assertThat(seen).hasSize(1).containsValue(Received.UNKNOWN); // from /proc/net/tcp: the connection, no counters
            assertThat(ss.requestsBlindSpot()).isEqualTo(
                    "ss failed (exit 1: Cannot open netlink socket: Operation not permitted); only new connections were seen");
        }
    }

    @Test
    void anSsThatHangsIsKilledAtItsTimeout(@TempDir Path dir) throws Exception {
        Path hanging = script(dir, "ss-hanging", "exec sleep 30");
        SocketStatsConnections ss = reader(hanging, List.of(1));
        long start = System.nanoTime();
        ss.now();
        double took = (System.nanoTime() - start) / 1e9;

        assertThat(took).isBetween(1.5, 10.0);
        assertThat(ss.requestsBlindSpot()).startsWith("ss failed (killed at the timeout of 2000ms");
    }

    private static Path script(Path dir, String name, String body) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }
}
