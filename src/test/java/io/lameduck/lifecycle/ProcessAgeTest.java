package io.lameduck.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessAgeTest {
    @TempDir
    Path dir;

    private Path file(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void theAgeIsTheUptimeLessTheStartInClockTicks() throws Exception {
        // A command name with spaces and a ')' must not shift the fields; field 22 (start) is 123456 ticks = 1234.56 s.
        Path stat = file("stat", "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 30 0 123456 1000 200\n");
        Path uptime = file("uptime", "1236.01 2300.50\n");
        assertThat(ProcessAge.of(stat, uptime)).contains(Duration.ofMillis(1450));
    }

    @Test
    void missingTruncatedOrForeignFilesGiveNoAgeRatherThanAnError() throws Exception {
        Path uptime = file("uptime", "1236.01 2300.50\n");
        assertThat(ProcessAge.of(dir.resolve("absent"), uptime)).isEmpty();
        assertThat(ProcessAge.of(file("short", "4242 (java) S 1 2 3\n"), uptime)).isEmpty();
        assertThat(ProcessAge.of(file("words", "4242 (java) S " + "x ".repeat(30)), uptime)).isEmpty();
        assertThat(ProcessAge.of(file("empty", ""), uptime)).isEmpty();
        assertThat(ProcessAge.of(file("huge", "9".repeat(1 << 20)), uptime)).as("read only up to 4 KiB, and not a stat line").isEmpty();
        Path later = file("later", "4242 (java) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 30 0 999999 1000 200\n");
        assertThat(ProcessAge.of(later, uptime)).as("started after the uptime: not a real pair of files").isEmpty();
    }

    @Test
    void thisProcessHasAnAgeOnLinux() {
        assertThat(ProcessAge.current()).hasValueSatisfying(age -> assertThat(age).isPositive().isLessThan(Duration.ofDays(1)));
    }
}
