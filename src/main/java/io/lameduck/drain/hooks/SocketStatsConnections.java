package io.lameduck.drain.hooks;

import io.lameduck.config.Cidr;
import io.lameduck.drain.AppConnections;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application's connections with what each has received, from the kernel's TCP_INFO as {@code ss} (iproute2)
 * prints it: {@code bytes_received} and {@code lastrcv} (milliseconds since data last arrived) per socket. That is
 * what tells a request on a keep-alive connection, the way L7 proxies send them, from silence. The kernel offers
 * TCP_INFO of other processes' sockets only through NETLINK_SOCK_DIAG, which the JDK 17 runtime cannot open, so the
 * image ships {@code ss} (a few hundred kilobytes) and this runs it once per poll: one short process, bounded in
 * time and output.
 *
 * <p>If {@code ss} fails during a drain (a seccomp profile that forbids netlink, say), the rest of the drain reads
 * {@code /proc/net/tcp} instead, and the report says that only new connections were seen.
 */
public final class SocketStatsConnections implements AppConnections {
    private static final Logger LOG = LoggerFactory.getLogger(SocketStatsConnections.class);
    private static final List<Path> CANDIDATES = List.of(Path.of("/usr/bin/ss"), Path.of("/bin/ss"), Path.of("/usr/sbin/ss"), Path.of("/sbin/ss"));
    /** One run must not hold a poll: a healthy run takes a few milliseconds. */
    static final Duration TIMEOUT = Duration.ofSeconds(2);
    /** About 40,000 sockets with their TCP_INFO; more output than that is refused rather than buffered. */
    static final int MAX_OUTPUT = 16 * 1024 * 1024;

    private final List<String> command;
    private final List<Integer> ports;
    private final List<Cidr> ignorePeers;
    private final ProcAppConnections fallback;
    private volatile String failed; // why ss stopped working; then the fallback answers

    SocketStatsConnections(Path ss, List<Integer> ports, List<Cidr> ignorePeers, TcpConnectionTable table) {
        this.ports = List.copyOf(ports);
        this.ignorePeers = List.copyOf(ignorePeers);
        this.command = List.of(ss.toString(), "-t", "-i", "-n", "-H", "-O", "state", "connected", filter(this.ports));
        this.fallback = new ProcAppConnections(table, ports, ignorePeers, null);
    }

    /** The connections on {@code ports} through {@code ss} when it is installed; empty otherwise. */
    public static Optional<SocketStatsConnections> find(List<Integer> ports, List<Cidr> ignorePeers, TcpConnectionTable table) {
        return CANDIDATES.stream().filter(Files::isExecutable).findFirst()
                .map(ss -> new SocketStatsConnections(ss, ports, ignorePeers, table));
    }

    @Override
    public List<Integer> ports() {
        return ports;
    }

    /** From {@code /proc/net/tcp{,6}}, which lists listening sockets as well as {@code ss} does. */
    @Override
    public Set<Integer> listening() throws IOException {
        return fallback.listening();
    }

    @Override
    public String requestsBlindSpot() {
        String why = failed;
        return why == null ? null : why + "; only new connections were seen";
    }

    @Override
    public Map<Connection, Received> now() throws IOException {
        if (failed == null) {
            try {
                return parse(run());
            } catch (InterruptedIOException e) {
                throw e; // the watch is closing: not a failure of ss
            } catch (IOException e) {
                failed = "ss failed (" + e.getMessage() + ")";
                LOG.warn("{}: reading /proc/net/tcp instead for the rest of the drain; requests on keep-alive "
                        + "connections are not seen, only new connections", failed);
            }
        }
        return fallback.now();
    }

    private String run() throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        // A run that hangs without output would block the read below: kill it at the timeout, which ends the read.
        CompletableFuture.delayedExecutor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).execute(process::destroyForcibly);
        try (InputStream out = process.getInputStream()) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            byte[] buffer = new byte[64 * 1024];
            long stopAt = System.nanoTime() + TIMEOUT.toNanos();
            int n;
            while ((n = out.read(buffer)) >= 0) {
                bytes.write(buffer, 0, n);
                if (bytes.size() > MAX_OUTPUT) {
                    throw new IOException("more than " + MAX_OUTPUT / (1024 * 1024) + " MiB of output");
                }
                if (System.nanoTime() - stopAt > 0) {
                    throw new IOException("no end of output within " + TIMEOUT.toMillis() + "ms");
                }
            }
            if (System.nanoTime() - stopAt > 0) {
                throw new IOException("killed at the timeout of " + TIMEOUT.toMillis() + "ms");
            }
            if (!process.waitFor(Math.max(1, (stopAt - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS)) {
                throw new IOException("did not exit within " + TIMEOUT.toMillis() + "ms");
            }
            String text = bytes.toString(StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IOException("exit " + process.exitValue() + ": " + text.lines().findFirst().orElse("").strip());
            }
            return text;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading the socket table");
        } finally {
            process.destroyForcibly();
        }
    }

    /** {@code ss}'s filter for the local ports: {@code ( sport = :8080 or sport = :9090 )}. */
    static String filter(List<Integer> ports) {
        List<String> each = new ArrayList<>();
        for (int port : ports) {
            each.add("sport = :" + port);
        }
        return "( " + String.join(" or ", each) + " )";
    }

    /**
     * Lines of {@code ss -tinHO}: {@code STATE RECV-Q SEND-Q LOCAL PEER [info...]}, the info holding
     * {@code bytes_received:N} (absent while nothing arrived) and {@code lastrcv:MS} for sockets that still have
     * TCP_INFO. Lines that are not sockets are skipped.
     */
    Map<Connection, Received> parse(String output) {
        Map<Connection, Received> found = new HashMap<>();
        for (String line : output.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length < 5 || fields[0].equals("LISTEN")) {
                continue;
            }
            try {
                Endpoint local = endpoint(fields[3]);
                Endpoint peer = endpoint(fields[4]);
                if (!ports.contains(local.port()) || ignored(peer.address())) {
                    continue;
                }
                found.put(new Connection(local.address(), local.port(), peer.address(), peer.port()), received(fields));
            } catch (IllegalArgumentException | UnknownHostException e) {
                // not a socket line
            }
        }
        return found;
    }

    /**
     * A socket with TCP_INFO has info fields after its peer; ss prints {@code bytes_received} and {@code lastrcv} only
     * when they are not zero, so a missing one is 0 (a connection accepted this very millisecond has neither). A
     * socket without TCP_INFO is unknown, except one still in its handshake (SYN-RECV), which certainly has received
     * no data (a health check caught there is no request), and one in TIME-WAIT: only the side that closed first gets
     * there, so the app closed it (and it may have carried a request).
     */
    private static Received received(String[] fields) {
        if (fields.length <= 5) {
            return switch (fields[0]) {
                case "SYN-RECV" -> new Received(0, Duration.ZERO);
                case "TIME-WAIT" -> Received.CLOSED_BY_APP;
                default -> Received.UNKNOWN;
            };
        }
        long bytes = 0;
        long lastReceived = 0;
        for (int i = 5; i < fields.length; i++) {
            if (fields[i].startsWith("bytes_received:")) {
                bytes = Long.parseLong(fields[i].substring("bytes_received:".length()));
            } else if (fields[i].startsWith("lastrcv:")) {
                lastReceived = Long.parseLong(fields[i].substring("lastrcv:".length()));
            }
        }
        return new Received(bytes, Duration.ofMillis(lastReceived));
    }

    private boolean ignored(InetAddress peer) {
        for (Cidr network : ignorePeers) {
            if (network.contains(peer)) {
                return true;
            }
        }
        return false;
    }

    private record Endpoint(InetAddress address, int port) {}

    /** {@code 10.0.0.5:8080}, {@code [fd00::5]:8080}, {@code [fe80::1%eth0]:8080}, {@code [::ffff:10.0.0.5]:8080}. */
    private static Endpoint endpoint(String text) throws UnknownHostException {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("no port in " + text);
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int scope = host.indexOf('%');
        if (scope >= 0) {
            host = host.substring(0, scope);
        }
        if (host.isEmpty() || !host.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
            throw new IllegalArgumentException("not a numeric address: " + text); // never a name lookup
        }
        // getByName returns an Inet4Address for an IPv4-mapped IPv6 address, as the /proc reader does.
        return new Endpoint(InetAddress.getByName(host), Integer.parseInt(text.substring(colon + 1)));
    }
}
