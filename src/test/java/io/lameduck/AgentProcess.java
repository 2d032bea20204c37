package io.lameduck;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.http.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/** The real agent process: {@code agent/lameduck} (the launcher) running {@code target/lameduck.jar}. */
public final class AgentProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("accepting connections on [^:]+:(\\d+)");
    private final Process process;
    private final List<String> stdout = new CopyOnWriteArrayList<>();
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final Thread stdoutPump;
    private final Thread stderrPump;
    private volatile Instant exitSeenAt;

    private AgentProcess(Process process) {
        this.process = process;
        stdoutPump = pump(process.getInputStream(), stdout);
        stderrPump = pump(process.getErrorStream(), stderr);
    }

    public static AgentProcess start(Map<String, String> env, String... args) throws IOException {
        Path launcher = Path.of("agent/lameduck").toAbsolutePath();
        if (!Files.isExecutable(launcher) || !Files.exists(Path.of("target/lameduck.jar"))) {
            throw new IllegalStateException("run `mvn verify` (package before integration tests): " + launcher + " and target/lameduck.jar are needed");
        }
        List<String> command = new ArrayList<>(List.of(launcher.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().keySet().removeIf(k -> k.startsWith("LAMEDUCK_"));
        builder.environment().putAll(env);
        return new AgentProcess(builder.start());
    }

    /** Writes {@code yaml} as {@code lameduck.yaml} in {@code dir}: the configuration a test starts the agent with. */
    public static Path writeConfig(Path dir, String yaml) throws IOException {
        return Files.writeString(dir.resolve("lameduck.yaml"), yaml);
    }

    /** Starts {@code serve --config config}, then {@code moreArgs}. */
    public static AgentProcess serve(Path config, Map<String, String> env, String... moreArgs) throws IOException {
        List<String> args = new ArrayList<>(List.of("serve", "--config", config.toString()));
        args.addAll(List.of(moreArgs));
        return start(env, args.toArray(String[]::new));
    }

    /** Writes {@code yaml} as {@code lameduck.yaml} in {@code dir} and starts {@code serve --config} on it, then {@code moreArgs}. */
    public static AgentProcess serve(Path dir, String yaml, Map<String, String> env, String... moreArgs) throws IOException {
        return serve(writeConfig(dir, yaml), env, moreArgs);
    }

    private static Thread pump(java.io.InputStream stream, List<String> lines) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // process ended
            }
        });
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** Waits for the "accepting connections" log line and returns the bound port. */
    public int awaitListening() {
        int[] port = new int[1];
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("agent exited with " + process.exitValue() + ": " + stdout + stderr);
            }
            for (String line : stdout) {
                Matcher matcher = LISTENING.matcher(line);
                if (matcher.find()) {
                    port[0] = Integer.parseInt(matcher.group(1));
                    return true;
                }
            }
            return false;
        });
        return port[0];
    }

    public void awaitLine(String fragment) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> stdout.stream().anyMatch(line -> line.contains(fragment)));
    }

    /** SIGTERM, sent with kill(1): {@link Process#destroy()} would also close our end of its output pipes. */
    public void sigterm() throws Exception {
        signal("TERM");
    }

    public void signal(String name) throws Exception {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
    }

    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("agent did not exit within " + timeout + "; stdout: " + stdout + " stderr: " + stderr);
        }
        exitSeenAt = Instant.now();
        stdoutPump.join(5000); // the pumps end at EOF, after the last line
        stderrPump.join(5000);
        return process.exitValue();
    }

    /** When {@link #awaitExit} saw the process gone (before it waited for the rest of its output). */
    public Instant exitSeenAt() {
        return exitSeenAt;
    }

    public List<String> stdout() {
        return stdout;
    }

    /** The first log line containing {@code fragment}, parsed (the JSON log format); fails when there is none. */
    public JsonNode logLine(String fragment) {
        String line = stdout.stream().filter(l -> l.contains(fragment)).findFirst()
                .orElseThrow(() -> new AssertionError("no log line with \"" + fragment + "\" in " + stdout));
        try {
            return Json.MAPPER.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not a JSON log line: " + line, e);
        }
    }

    /** The index of the first log line containing {@code fragment}, -1 when there is none: to check an order. */
    public int lineIndex(String fragment) {
        for (int i = 0; i < stdout.size(); i++) {
            if (stdout.get(i).contains(fragment)) {
                return i;
            }
        }
        return -1;
    }

    /** The processes the agent has started and that are still running (exec hooks and theirs). */
    public List<ProcessHandle> descendants() {
        return process.toHandle().descendants().toList();
    }

    public ProcessHandle handle() {
        return process.toHandle();
    }

    public String stderrText() {
        return String.join("\n", stderr);
    }

    /** SIGKILL: the agent gets no chance to do anything. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
