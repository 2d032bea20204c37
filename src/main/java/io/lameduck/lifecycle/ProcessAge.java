package io.lameduck.lifecycle;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How long this process has been running, from the kernel's own counters: {@code /proc/self/stat} (field 22, the start
 * in clock ticks since boot) against {@code /proc/uptime} (seconds since boot), both 10 ms fine. Neither
 * {@code ProcessHandle.Info.startInstant()} (its boot time is whole seconds: up to 1 s off) nor the JVM's uptime (JMX:
 * some 150 more classes on the path to READY, and it starts after the launcher) says how long a pod waited.
 */
public final class ProcessAge {
    /** USER_HZ: the unit of /proc's clock ticks, fixed at 100 by the kernel's user-space ABI. */
    private static final long TICKS_PER_SECOND = 100;
    /** Both files are one short line; more is not /proc. */
    private static final long MAX_BYTES = 4096;

    private ProcessAge() {}

    /** This process's age; empty where /proc is not Linux's. */
    public static Optional<Duration> current() {
        return of(Path.of("/proc/self/stat"), Path.of("/proc/uptime"));
    }

    static Optional<Duration> of(Path stat, Path uptime) {
        try {
            Optional<String> statLine = read(stat);
            Optional<String> uptimeLine = read(uptime);
            if (statLine.isEmpty() || uptimeLine.isEmpty()) {
                return Optional.empty();
            }
            // The command name (field 2) is in parentheses and may hold spaces or ')': count fields after the last ')'.
            String afterName = statLine.get().substring(statLine.get().lastIndexOf(')') + 1).trim();
            String[] fields = afterName.split("\\s+");
            if (fields.length < 20) {
                return Optional.empty();
            }
            long startTicks = Long.parseLong(fields[19]); // field 22 of the whole line
            Duration sinceBoot = Duration.ofMillis(Math.round(Double.parseDouble(uptimeLine.get().trim().split("\\s+")[0]) * 1000));
            Duration age = sinceBoot.minus(Duration.ofMillis(startTicks * 1000 / TICKS_PER_SECOND));
            return age.isNegative() ? Optional.empty() : Optional.of(age);
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // a figure for the log only: never worth failing start-up over
        }
    }

    private static Optional<String> read(Path file) throws IOException {
        byte[] bytes;
        try (var in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) MAX_BYTES);
        }
        return bytes.length == 0 ? Optional.empty() : Optional.of(new String(bytes, StandardCharsets.US_ASCII));
    }
}
