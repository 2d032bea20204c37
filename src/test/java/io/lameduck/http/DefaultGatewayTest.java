package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DefaultGatewayTest {
    /** A pod's table on the bridge CNI: the default route via 10.244.0.1, then the pod network itself. */
    private static final String POD_TABLE = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t0100F40A\t0003\t0\t0\t0\t00000000\t0\t0\t0
            eth0\t0000F40A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            """;

    @Test
    void readsTheDefaultRoutesGatewayInHostByteOrder(@TempDir Path dir) throws Exception {
        Path table = Files.writeString(dir.resolve("route"), POD_TABLE);
        assertThat(DefaultGateway.read(table)).hasValueSatisfying(g -> assertThat(g.getHostAddress()).isEqualTo("10.244.0.1"));
    }

    @Test
    void noDefaultRouteOrAnUnreadableTableMeansNoGateway(@TempDir Path dir) throws Exception {
        assertThat(DefaultGateway.parse(POD_TABLE.lines().filter(l -> !l.contains("0100F40A")).reduce("", (a, b) -> a + b + "\n"))).isEmpty();
        assertThat(DefaultGateway.parse("eth0\t00000000\t0100F40A\t0001\t0\n")).as("a default route without RTF_GATEWAY").isEmpty();
        assertThat(DefaultGateway.parse("garbage\nmore garbage\n\t\n")).isEmpty();
        assertThat(DefaultGateway.read(dir.resolve("missing"))).isEmpty();
        Path huge = Files.writeString(dir.resolve("huge"), "x".repeat(DefaultGateway.MAX_BYTES * 2) + "\n" + POD_TABLE);
        assertThat(DefaultGateway.read(huge)).as("read only up to its bound").isEmpty();
    }
}
