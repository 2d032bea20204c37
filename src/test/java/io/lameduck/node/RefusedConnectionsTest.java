package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading conntrack's events (as conntrack 1.4.7 prints them in the node's namespace) for the backend that refused. */
class RefusedConnectionsTest {
    private static final String REPLY = " [UNREPLIED] src=%s dst=10.244.0.1 sport=8080 dport=%d";

    private static String event(String time, String kind, String state, int port, String backend) {
        return "[" + time + "]\t [" + kind + "] tcp      6 120 " + state + " src=10.200.0.2 dst=10.96.0.28 sport=" + port
                + " dport=8080" + String.format(REPLY, backend, port);
    }

    @Test
    void aFlowResetBeforeItWasAnsweredWasRefusedByItsReplySource() {
        List<String> events = List.of(
                event("1796488454.729591", "NEW", "SYN_SENT", 40001, "10.244.0.5"),
                event("1796488454.729655", "UPDATE", "SYN_RECV", 40001, "10.244.0.5"),
                event("1796488454.729664", "UPDATE", "ESTABLISHED", 40001, "10.244.0.5"),
                event("1796488454.737721", "UPDATE", "CLOSE", 40001, "10.244.0.5"),
                event("1796488455.100000", "NEW", "SYN_SENT", 40002, "10.244.0.7"),
                event("1796488455.100050", "UPDATE", "CLOSE", 40002, "10.244.0.7"),
                event("1796488455.500000", "NEW", "SYN_SENT", 40003, "10.244.0.7"),
                event("1796488455.500040", "DESTROY", "CLOSE", 40003, "10.244.0.7"),
                // Seen only from the middle: not counted, whatever it did before.
                event("1796488456.000000", "UPDATE", "CLOSE", 40004, "10.244.0.9"));
        assertThat(RefusedConnections.summarise(events))
                .isEqualTo("10.244.0.7 x2 (2026-12-05T16:34:15.100050Z to 2026-12-05T16:34:15.500040Z)");
    }

    @Test
    void nothingRefusedIsAnEmptySummary() {
        assertThat(RefusedConnections.summarise(List.of("conntrack v1.4.7 (conntrack-tools): 0 flow events have been shown.")))
                .isEmpty();
    }
}
