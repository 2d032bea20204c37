package io.lameduck.sockets;

import io.lameduck.config.Cidr;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application's connections with what each has received, from the kernel's TCP_INFO: {@code bytes_received} and
 * {@code lastrcv} (milliseconds since data last arrived) per socket. That is what tells a request on a keep-alive
 * connection, the way L7 proxies send them, from silence. The kernel offers TCP_INFO of other processes' sockets only
 * through NETLINK_SOCK_DIAG, which the JDK 17 runtime cannot open, so one short process lists them per poll, bounded
 * in time and output: {@code lameduck-sockdiag} (src/main/c; the image and the build put it next to the jar), which
 * prints the lines {@code ss -tinHOo} would for the fields read here, or {@code ss} (iproute2) itself where the helper
 * is missing. The helper costs about half of {@code ss}'s CPU per poll: it is static (ss spends most of its run
 * loading fifteen shared libraries) and walks the kernel's table of connections only in the families the app listens
 * in (docs/performance.md).
 *
 * <p>If the program fails during a drain (a seccomp profile that forbids netlink, say), the rest of the drain reads
 * {@code /proc/net/tcp} instead, and the report says that only new connections were seen.
 */
public final class SocketStatsConnections implements AppConnections {
    private static final Logger LOG = LoggerFactory.getLogger(SocketStatsConnections.class);
    private static final List<Path> SS_CANDIDATES = List.of(Path.of("/usr/bin/ss"), Path.of("/bin/ss"), Path.of("/usr/sbin/ss"), Path.of("/sbin/ss"));
    /** The helper's file name, next to the agent's jar (or its classes directory's parent, {@code target/}). */
    static final String HELPER = "lameduck-sockdiag";
    /** One run must not hold a poll: a healthy run takes a few milliseconds. */
    static final Duration TIMEOUT = Duration.ofSeconds(2);
    /** About 40,000 sockets with their TCP_INFO; more output than that is refused rather than buffered. */
    static final int MAX_OUTPUT = 16 * 1024 * 1024;

    private final String name;
    private final List<String> command;
    private final List<Integer> ports;
    private final List<Cidr> ignorePeers;
    private final ProcAppConnections fallback;
    private volatile String failed; // why the program stopped working; then the fallback answers

    private SocketStatsConnections(String name, List<String> command, List<Integer> ports, List<Cidr> ignorePeers, TcpConnectionTable table) {
        this.name = name;
        this.command = List.copyOf(command);
        this.ports = List.copyOf(ports);
        this.ignorePeers = List.copyOf(ignorePeers);
        this.fallback = new ProcAppConnections(table, ports, ignorePeers, null);
    }

    /** Through {@code ss} at {@code ss}. */
    static SocketStatsConnections ss(Path ss, List<Integer> ports, List<Cidr> ignorePeers, TcpConnectionTable table) {
        return new SocketStatsConnections("ss", List.of(ss.toString(), "-t", "-i", "-n", "-H", "-O", "-o", "state", "connected", filter(ports)),
                ports, ignorePeers, table);
    }

    /** Through the helper at {@code helper}. */
    static SocketStatsConnections helper(Path helper, List<Integer> ports, List<Cidr> ignorePeers, TcpConnectionTable table) {
        List<String> command = new ArrayList<>();
        command.add(helper.toString());
        ports.forEach(port -> command.add(Integer.toString(port)));
        return new SocketStatsConnections(HELPER, command, ports, ignorePeers, table);
    }

    /**
     * The connections on {@code ports} through the helper next to the agent's code when it is there, else through
     * {@code ss} when it is installed; empty when neither is.
     */
    public static Optional<SocketStatsConnections> find(List<Integer> ports, List<Cidr> ignorePeers, TcpConnectionTable table) {
        Optional<Path> helper = helperBesideCode().filter(Files::isExecutable);
        if (helper.isPresent()) {
            return Optional.of(helper(helper.get(), ports, ignorePeers, table));
        }
        return findSs().map(ss -> ss(ss, ports, ignorePeers, table));
    }

    /** {@code ss} where iproute2 installs it. */
    static Optional<Path> findSs() {
        return SS_CANDIDATES.stream().filter(Files::isExecutable).findFirst();
    }

    /**
     * Where the helper is when the agent runs from a jar ({@code /opt/lameduck/lameduck.jar} in the image,
     * {@code target/lameduck.jar} after a build): beside it; from a classes directory ({@code target/classes}, the
     * tests): in its parent. Empty when the code's location is unknown.
     */
    static Optional<Path> helperBesideCode() {
        try {
            CodeSource source = SocketStatsConnections.class.getProtectionDomain().getCodeSource();
            if (source == null || source.getLocation() == null) {
                return Optional.empty();
            }
            Path code = Path.of(source.getLocation().toURI());
            return Optional.ofNullable(code.getParent()).map(dir -> dir.resolve(HELPER));
        } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
            return Optional.empty();
        }
    }

    /** The program's name: {@code lameduck-sockdiag} or {@code ss}. */
    public String program() {
        return name;
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
                throw e; // the watch is closing: not a failure of the program
            } catch (IOException e) {
                failed = name + " failed (" + e.getMessage() + ")";
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
     * Lines of {@code ss -tinHOo} (and of the helper, which prints the same shape): {@code STATE RECV-Q SEND-Q LOCAL PEER
     * [info...]}, the info holding
     * {@code bytes_received:N} (absent while nothing arrived) and {@code lastrcv:MS} for sockets that still have
     * TCP_INFO, and {@code timer:(timewait,58sec,0)} for a socket in TIME-WAIT. Lines that are not sockets are skipped.
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
     * A socket with TCP_INFO has info fields after its peer (after its timer, if one runs); ss prints
     * {@code bytes_received} and {@code lastrcv} only when they are not zero, so a missing one is 0 (a connection
     * accepted this very millisecond has neither). A socket without TCP_INFO is unknown, except one still in its
     * handshake (SYN-RECV), which certainly has received no data (a health check caught there is no request), and one
     * in TIME-WAIT: only the side that closed first gets there, so the app closed it (and it may have carried a
     * request); its timer says when.
     */
    private static Received received(String[] fields) {
        if (fields[0].equals("TIME-WAIT")) {
            return closedAgo(fields).map(Received::closedByApp).orElse(Received.CLOSED_BY_APP);
        }
        if (fields.length <= 5 || (fields.length == 6 && fields[5].startsWith(TIMER))) {
            return fields[0].equals("SYN-RECV") ? new Received(0, Duration.ZERO) : Received.UNKNOWN;
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

    private static final String TIMER = "timer:(";
    /** ss's rendering of a timer ({@code print_ms_timer}): {@code 1min}, {@code 58sec}, {@code 3.404ms} (3 s 404 ms), {@code 850ms}. */
    private static final Pattern TIMER_VALUE = Pattern.compile("(?:(\\d{1,4})min)?(?:(\\d{1,2})(?:sec|\\.))?(?:(\\d{1,3})ms)?");

    /**
     * How long ago the app closed a TIME-WAIT socket: {@link Received#TIME_WAIT} minus the time its timer has left.
     * Above 9 s ss drops the milliseconds, so the age read is at most a second too long (the rate it feeds comes out
     * lower, the silence it asks for longer). Empty without a readable timer.
     */
    private static Optional<Duration> closedAgo(String[] fields) {
        for (int i = 5; i < fields.length; i++) {
            if (fields[i].startsWith(TIMER + "timewait,") && fields[i].endsWith(")")) {
                String[] parts = fields[i].substring(TIMER.length() + "timewait,".length(), fields[i].length() - 1).split(",", -1);
                Matcher value = TIMER_VALUE.matcher(parts[0]);
                if (!value.matches()) {
                    return Optional.empty();
                }
                Duration left = Duration.ofMinutes(number(value.group(1))).plusSeconds(number(value.group(2)))
                        .plusMillis(number(value.group(3)));
                Duration ago = Received.TIME_WAIT.minus(left);
                return Optional.of(ago.isNegative() ? Duration.ZERO : ago);
            }
        }
        return Optional.empty();
    }

    private static long number(String digits) {
        return digits == null ? 0 : Long.parseLong(digits);
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
