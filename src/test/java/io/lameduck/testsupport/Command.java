package io.lameduck.testsupport;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command the tests need (helm, openssl, promtool, scripts) to completion within a time limit. Its output goes
 * to temporary files rather than a pipe the test reads, so a command that hangs or floods cannot hold the test past
 * the limit (reading a pipe to its end first would wait for the command however long it takes); at the limit its
 * whole process tree is killed and the test fails with what it printed.
 */
public final class Command {
    private Command() {}

    /** A finished command: exit code, stdout, and stdout followed by stderr for messages. */
    public record Result(int exit, String stdout, String output) {}

    public static Result run(List<String> command, Path workingDir, Duration limit) {
        try {
            Path out = Files.createTempFile("lameduck-command", ".out");
            Path err = Files.createTempFile("lameduck-command", ".err");
            try {
                Process process = new ProcessBuilder(command).directory(workingDir.toFile())
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                boolean finished = process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
                if (!finished) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
                String stdout = Files.readString(out, StandardCharsets.UTF_8);
                String output = stdout + Files.readString(err, StandardCharsets.UTF_8);
                if (!finished) {
                    fail(String.join(" ", command) + " did not finish in " + limit.toSeconds() + "s; output:\n" + output);
                }
                return new Result(process.exitValue(), stdout, output);
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        }
    }
}
