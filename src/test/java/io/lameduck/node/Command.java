package io.lameduck.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a command to completion within a time limit; its output (stdout and stderr merged) is kept for messages. */
record Command(List<String> argv, Map<String, String> env, Duration timeout) {
    static final Path REPO = Path.of("").toAbsolutePath();

    static Command of(Duration timeout, String... argv) {
        return new Command(List.of(argv), Map.of(), timeout);
    }

    Command withEnv(Map<String, String> more) {
        var merged = new java.util.HashMap<>(env);
        merged.putAll(more);
        return new Command(argv, Map.copyOf(merged), timeout);
    }

    /** Exit code and output. Never throws for a non-zero exit; an overrun is killed and reported as exit -1. */
    Result run() {
        ProcessBuilder builder = new ProcessBuilder(argv).directory(REPO.toFile()).redirectErrorStream(true);
        builder.environment().putAll(env);
        try {
            Process process = builder.start();
            process.getOutputStream().close();
            var out = new java.io.ByteArrayOutputStream();
            Thread reader = new Thread(() -> {
                try {
                    process.getInputStream().transferTo(out);
                } catch (IOException ignored) {
                    // the process was killed
                }
            }, "command-output");
            reader.start();
            boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!exited) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            reader.join(Duration.ofSeconds(10).toMillis());
            String output = out.toString(StandardCharsets.UTF_8);
            return new Result(this, exited ? process.exitValue() : -1, output);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + argv, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + argv, e);
        }
    }

    /** The output; fails with the whole output when the command did not exit 0. */
    String ok() {
        Result result = run();
        if (result.exitCode() != 0) {
            throw new AssertionError(result.describe());
        }
        return result.output();
    }

    record Result(Command command, int exitCode, String output) {
        String describe() {
            return String.join(" ", command.argv()) + (exitCode == -1 ? " did not finish within " + command.timeout()
                    : " exited " + exitCode) + ":\n" + tail(output);
        }

        private static String tail(String text) {
            return text.length() <= 8000 ? text : "..." + text.substring(text.length() - 8000);
        }
    }

    static List<String> join(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }
}
