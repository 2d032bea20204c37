package io.lameduck.sockets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lameduck.config.Cidr;
import io.lameduck.sockets.AppConnections.Connection;
import io.lameduck.sockets.AppConnections.Received;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The socket reader: its parsing of real output shapes, the real {@code lameduck-sockdiag} and {@code ss} on loopback
 * (side by side), and a program that fails or hangs.
 */
class SocketStatsConnectionsTest {
    private static final TcpConnectionTable PROC = TcpConnectionTable.system();

    private static SocketStatsConnections reader(Path ss, List<Integer> ports, Cidr... ignore) {
        return SocketStatsConnections.ss(ss, ports, List.of(ignore), PROC);
    }

    /**
     * The programs the agent runs, on the real kernel: {@code lameduck-sockdiag} as the build makes it (next to the
     * classes, in target/) and {@code ss}. Neither missing is a reason to skip: the tests fail and say what to do.
     */
    private static SocketStatsConnections real(String program, int port) {
        if (program.equals("ss")) {
            Path ss = SocketStatsConnections.findSs().orElseThrow(() -> new AssertionError("ss is needed: apt-get install iproute2"));
            return SocketStatsConnections.ss(ss, List.of(port), List.of(), PROC);
        }
        return SocketStatsConnections.helper(builtHelper(), List.of(port), List.of(), PROC);
    }

    /**
     * The reader's listing once {@code done} holds of it (at most 5 s): the kernel's view of a write or a close settles
     * within milliseconds, and a test must not guess how many.
     */
    private static Map<Connection, Received> listingOnce(SocketStatsConnections reader, Predicate<Map<Connection, Received>> done) {
        return await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(reader::now, done);
    }

    private static Path builtHelper() {
        return SocketStatsConnections.helperBesideCode().filter(Files::isExecutable).orElseThrow(() -> new AssertionError(
                "target/lameduck-sockdiag is missing: the build compiles it from src/main/c with gcc (scripts/mvn compile)"));
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

    @ParameterizedTest
    @ValueSource(strings = {SocketStatsConnections.HELPER, "ss"})
    void theRealProgramDatesAConnectionTheAppClosedFirst(String program) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Socket client = new Socket();
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            Connection key;
            try (Socket accepted = server.accept()) {
                key = new Connection(accepted.getLocalAddress(), server.getLocalPort(), client.getLocalAddress(), client.getLocalPort());
            } // the app's side closes first: it ends in TIME-WAIT once the client closes too
            client.close();
            SocketStatsConnections ss = real(program, server.getLocalPort());
            Received closed = listingOnce(ss, seen -> seen.containsKey(key) && seen.get(key).closedByApp()).get(key);

            assertThat(closed).isNotNull();
            assertThat(closed.closedByApp()).isTrue();
            assertThat(closed.closedAgo()).hasValueSatisfying(ago -> assertThat(ago).isBetween(Duration.ZERO, Duration.ofSeconds(3)));
        }
    }

    @Test
    void theFilterNamesEveryPort() {
        assertThat(SocketStatsConnections.filter(List.of(8080, 9090))).isEqualTo("( sport = :8080 or sport = :9090 )");
    }

    @ParameterizedTest
    @ValueSource(strings = {SocketStatsConnections.HELPER, "ss"})
    void theRealProgramSeesDataArriveOnAKeepAliveConnection(String program) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
                Socket client = new Socket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
            try (Socket accepted = server.accept()) {
                SocketStatsConnections ss = real(program, server.getLocalPort());
                Connection key = new Connection(accepted.getLocalAddress(), server.getLocalPort(), client.getLocalAddress(), client.getLocalPort());
                assertThat(ss.now().get(key).bytes()).isZero();
                client.getOutputStream().write(new byte[321]);
                client.getOutputStream().flush();
                Received after = listingOnce(ss, seen -> seen.get(key).bytes() == 321).get(key);
                assertThat(after.bytes()).isEqualTo(321);
                assertThat(after.sinceLastData()).isLessThan(Duration.ofSeconds(2));
                assertThat(ss.requestsBlindSpot()).isNull();
            }
        }
    }

    @Test
    void theAgentPrefersTheHelperToSs() {
        assertThat(SocketStatsConnections.find(List.of(8080), List.of(), PROC)).map(SocketStatsConnections::program)
                .contains(SocketStatsConnections.HELPER);
    }

    @Test
    void theHelperListsWhatSsListsWithTheSameCounters() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            List<Socket> clients = new ArrayList<>();
            List<Socket> accepted = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                    clients.add(client);
                    accepted.add(server.accept());
                    client.getOutputStream().write(new byte[100 * (i + 1)]);
                }
                accepted.get(0).getInputStream().readNBytes(100); // closing with unread data would reset, not close
                long lastWrite = System.nanoTime();
                accepted.get(0).close(); // the app closes first: TIME-WAIT once the client closes too
                clients.get(0).close();
                Map<Connection, Received> bySs = listingOnce(real("ss", server.getLocalPort()),
                        seen -> seen.values().stream().anyMatch(Received::closedByApp));
                // Not a synchronisation: lastrcv must have grown past 50 ms, so that the helper is seen to report it.
                Thread.sleep(Math.max(0, 100 - (System.nanoTime() - lastWrite) / 1_000_000));
                Map<Connection, Received> byHelper = real(SocketStatsConnections.HELPER, server.getLocalPort()).now();

                assertThat(byHelper).hasSize(4);
                assertThat(byHelper.keySet()).isEqualTo(bySs.keySet());
                for (Connection key : byHelper.keySet()) {
                    Received helper = byHelper.get(key);
                    Received ss = bySs.get(key);
                    assertThat(helper.bytes()).as("bytes of %s", key).isEqualTo(ss.bytes());
                    assertThat(helper.closedByApp()).as("closed by the app: %s", key).isEqualTo(ss.closedByApp());
                    if (helper.known()) {
                        assertThat(helper.sinceLastData()).isBetween(Duration.ofMillis(50), Duration.ofSeconds(5));
                    }
                }
            } finally {
                for (Socket socket : clients) {
                    socket.close();
                }
                for (Socket socket : accepted) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void theHelperSeesClientsOfADualStackListenerInTheIpv6Walk() throws Exception {
        // A listener on [::] (as Go and many apps bind) gets its IPv4 clients on IPv6 sockets (::ffff:127.0.0.1): the
        // helper walks only the families the app listens in, so this is the family that must be walked.
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName("::"), 0));
            try (Socket client = new Socket(InetAddress.getByName("127.0.0.1"), server.getLocalPort());
                    Socket accepted = server.accept()) {
                client.getOutputStream().write(new byte[42]);
                Map<Connection, Received> seen = listingOnce(real(SocketStatsConnections.HELPER, server.getLocalPort()),
                        listed -> listed.values().stream().anyMatch(received -> received.bytes() == 42));

                assertThat(seen).hasSize(1);
                Map.Entry<Connection, Received> only = seen.entrySet().iterator().next();
                assertThat(only.getKey().peerAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
                assertThat(only.getKey().peerPort()).isEqualTo(client.getLocalPort());
                assertThat(only.getValue().bytes()).isEqualTo(42);
            }
        }
    }

    @Test
    void theHelperRefusesWhatIsNotAPortWithExit2() throws Exception {
        for (List<String> args : List.of(List.<String>of(), List.of("0"), List.of("65536"), List.of("8080x"), List.of("-1"),
                Collections.nCopies(65, "8080"))) {
            List<String> command = new ArrayList<>();
            command.add(builtHelper().toString());
            command.addAll(args);
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            assertThat(process.waitFor()).as("exit of %s", args).isEqualTo(2);
            assertThat(output).as("output of %s", args).contains("usage: lameduck-sockdiag PORT...");
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
