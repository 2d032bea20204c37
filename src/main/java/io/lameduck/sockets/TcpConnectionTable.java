package io.lameduck.sockets;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The kernel's TCP connection table, read from {@code /proc/net/tcp} and {@code /proc/net/tcp6}. The sidecar shares
 * the pod's network namespace, so these files list the application's connections too. Every call reads the files
 * afresh; an instance holds no state and may be shared between threads.
 *
 * <p>A missing file counts as an empty table for its address family (IPv6 may be disabled); both missing is an
 * error, so that a wait-idle hook on a system without {@code /proc} fails instead of finding "no connections".
 */
public final class TcpConnectionTable implements ConnectionCounter {
    private static final Path PROC_TCP = Path.of("/proc/net/tcp");
    private static final Path PROC_TCP6 = Path.of("/proc/net/tcp6");

    private final Path tcp;
    private final Path tcp6;
    private final ByteOrder wordOrder;

    /** The table of this process's network namespace. */
    public static TcpConnectionTable system() {
        return new TcpConnectionTable(PROC_TCP, PROC_TCP6);
    }

    /** A table read from files in the format of {@code /proc/net/tcp} and {@code /proc/net/tcp6}. */
    public TcpConnectionTable(Path tcp, Path tcp6) {
        // The kernel prints each 32-bit word of an address as a number in the CPU's byte order.
        this(tcp, tcp6, ByteOrder.nativeOrder());
    }

    /** A table whose files print each 32-bit word of an address in {@code wordOrder} (a kernel of another CPU's, or test samples). */
    public TcpConnectionTable(Path tcp, Path tcp6, ByteOrder wordOrder) {
        this.tcp = tcp;
        this.tcp6 = tcp6;
        this.wordOrder = wordOrder;
    }

    @Override
    public int established(int port) {
        try {
            int count = 0;
            for (TcpConnection connection : read()) {
                if (connection.isEstablished() && connection.localPort() == port) {
                    count++;
                }
            }
            return count;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the TCP connection table: " + e.getMessage(), e);
        }
    }

    /** Every port something listens on, any address, either table. */
    public Set<Integer> listeningPorts() throws IOException {
        Set<Integer> ports = new TreeSet<>();
        for (TcpConnection socket : read()) {
            if (socket.state() == TcpConnection.LISTEN) {
                ports.add(socket.localPort());
            }
        }
        return ports;
    }

        /** Every socket in both tables, in any state. */
    public List<TcpConnection> read() throws IOException {
        List<TcpConnection> connections = new ArrayList<>();
        boolean found = read(tcp, connections);
        found |= read(tcp6, connections);
        if (!found) {
            throw new NoSuchFileException(tcp + " and " + tcp6, null,
                    "neither exists; the agent must run on Linux, in the pod's network namespace");
        }
        return connections;
    }

    private boolean read(Path file, List<TcpConnection> into) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            return false;
        }
        for (String line : lines) {
            parse(line, wordOrder).ifPresent(into::add);
        }
        return true;
    }

    /**
     * One line such as {@code "0: 0100007F:1F90 0100007F:C350 01 ..."}; empty for the header or anything else that is
     * not a socket entry.
     */
    static Optional<TcpConnection> parse(String line, ByteOrder wordOrder) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length < 4 || !fields[0].endsWith(":")) {
            return Optional.empty();
        }
        try {
            String[] local = fields[1].split(":");
            String[] remote = fields[2].split(":");
            if (local.length != 2 || remote.length != 2) {
                return Optional.empty();
            }
            return Optional.of(new TcpConnection(
                    address(local[0], wordOrder),
                    Integer.parseInt(local[1], 16),
                    address(remote[0], wordOrder),
                    Integer.parseInt(remote[1], 16),
                    Integer.parseInt(fields[3], 16)));
        } catch (IllegalArgumentException | UnknownHostException e) {
            return Optional.empty();
        }
    }

    /** 8 hex digits (IPv4) or 32 (IPv6), each group of 8 a 32-bit word in {@code wordOrder}. */
    private static InetAddress address(String hex, ByteOrder wordOrder) throws UnknownHostException {
        if (hex.length() != 8 && hex.length() != 32) {
            throw new IllegalArgumentException("address of " + hex.length() + " hex digits");
        }
        ByteBuffer bytes = ByteBuffer.allocate(hex.length() / 2).order(wordOrder);
        for (int i = 0; i < hex.length(); i += 8) {
            bytes.putInt(Integer.parseUnsignedInt(hex.substring(i, i + 8), 16));
        }
        // getByAddress returns an Inet4Address for an IPv4-mapped IPv6 address (documented in Inet6Address).
        return InetAddress.getByAddress(bytes.array());
    }
}
