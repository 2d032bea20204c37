package io.lameduck.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which backend refused a connection, read from {@code conntrack -E -o timestamp} events: a flow that went from
 * SYN_SENT straight to CLOSE (an update, or its destruction at once) was answered by a reset, and its reply tuple's source is the address that sent it (the pod
 * kube-proxy chose). A connection kube-proxy itself rejects (a Service with no endpoints) never gets a tracked flow, so
 * refusals that appear here are the pods'; those that do not were kube-proxy's.
 */
final class RefusedConnections {
    /** {@code [1733412345.123456] [NEW] tcp 6 120 SYN_SENT src=A dst=B sport=P dport=Q [UNREPLIED] src=C ...}. */
    private static final Pattern EVENT = Pattern.compile(
            "\\[(\\d+\\.\\d+)]\\s+\\[(NEW|UPDATE|DESTROY)]\\s+tcp\\s+\\d+\\s+(?:\\d+\\s+)?([A-Z_]+)?\\s*src=(\\S+) dst=\\S+ sport=(\\d+)"
                    + ".*?src=(\\S+) dst=");

    private RefusedConnections() {}

    /** "10.244.0.7 x8 (first at ..., last at ...)" per backend, or "" when no flow seen from its start was refused. */
    static String read(Path events) {
        List<String> lines;
        try {
            lines = Files.readAllLines(events);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return summarise(lines);
    }

    static String summarise(List<String> lines) {
        Map<String, Boolean> answered = new HashMap<>(); // flow → it reached SYN_RECV or ESTABLISHED
        Map<String, List<Instant>> refused = new TreeMap<>();
        for (String line : lines) {
            Matcher m = EVENT.matcher(line);
            if (!m.find() || m.group(3) == null) {
                continue;
            }
            String flow = m.group(4) + ":" + m.group(5);
            String state = m.group(3);
            if (m.group(2).equals("NEW")) {
                answered.put(flow, !state.equals("SYN_SENT"));
            } else if (state.equals("SYN_RECV") || state.equals("ESTABLISHED")) {
                answered.replace(flow, true);
            } else if (state.equals("CLOSE") && Boolean.FALSE.equals(answered.remove(flow))) {
                // A reset answered the SYN: an UPDATE to CLOSE, or at once a DESTROY in CLOSE.
                refused.computeIfAbsent(m.group(6), k -> new ArrayList<>()).add(instant(m.group(1)));
            } else if (m.group(2).equals("DESTROY")) {
                answered.remove(flow);
            }
        }
        return refused.entrySet().stream().map(e -> e.getKey() + " x" + e.getValue().size() + " (" + e.getValue().get(0)
                + (e.getValue().size() > 1 ? " to " + e.getValue().get(e.getValue().size() - 1) : "") + ")")
                .collect(Collectors.joining(", "));
    }

    private static Instant instant(String seconds) {
        BigDecimal s = new BigDecimal(seconds);
        long whole = s.longValue();
        return Instant.ofEpochSecond(whole, s.subtract(BigDecimal.valueOf(whole)).movePointRight(9).longValue());
    }
}
