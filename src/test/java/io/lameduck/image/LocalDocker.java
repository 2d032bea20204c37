package io.lameduck.image;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit extension for the {@code docker}-tagged tests: the project's own Docker engine
 * ({@code scripts/install/docker.sh start}, socket {@value #SOCKET}) running before the first test class that uses it,
 * stopped when the test run ends if this extension started it, and the locally built images of
 * {@code scripts/images.sh} ({@link #image}). Testcontainers finds the engine through {@code DOCKER_HOST} and
 * runs without Ryuk and start-up checks ({@link #ENVIRONMENT}; failsafe sets it, pom.xml).
 *
 * <p>Where no engine can run (not root: the engine needs a network bridge and mounts) the tests are skipped
 * with the reason printed. Everywhere else a failure to start it fails the tests.
 */
public final class LocalDocker implements BeforeAllCallback {
    public static final String SOCKET = "unix:///run/lameduck-docker.sock";
    /**
     * What Testcontainers needs here (failsafe sets it, pom.xml): the project's engine; no Ryuk and no start-up
     * checks (both would pull an image, and no registry is reachable); published ports are bound to 127.0.0.1,
     * where Testcontainers would otherwise not look for them when it finds /.dockerenv.
     */
    private static final Map<String, String> ENVIRONMENT = Map.of(
            "DOCKER_HOST", SOCKET,
            "TESTCONTAINERS_RYUK_DISABLED", "true",
            "TESTCONTAINERS_CHECKS_DISABLE", "true",
            "TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1");
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Map<String, String> IMAGES = new ConcurrentHashMap<>();

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (!Integer.valueOf(0).equals(uid)) {
            String reason = "no Docker engine can run here: scripts/install/docker.sh needs root (this is uid " + uid + ")";
            System.out.println("SKIPPED " + context.getDisplayName() + ": " + reason);
            Assumptions.abort(reason);
        }
        for (Map.Entry<String, String> variable : ENVIRONMENT.entrySet()) {
            if (!variable.getValue().equals(System.getenv(variable.getKey()))) {
                fail("the docker tests need " + ENVIRONMENT + " in their environment (failsafe sets them: run them with"
                        + " scripts/mvn verify; from an IDE set them yourself); " + variable.getKey() + " is " + System.getenv(variable.getKey()));
            }
        }
        context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL).getOrComputeIfAbsent(Engine.class, k -> Engine.start(), Engine.class);
    }

    /**
     * The name of a locally built image ({@code base}, {@code agent}, {@code demo}, {@code pause}): runs
     * {@code scripts/images.sh KIND}, which builds it only when its inputs changed (the agent image from
     * agent/Dockerfile with the jar of target/, so {@code mvn package} must have run).
     */
    public static String image(String kind) {
        return IMAGES.computeIfAbsent(kind, k -> {
            Result result = run(List.of(ROOT.resolve("scripts/images.sh").toString(), k), Duration.ofMinutes(15));
            if (result.exit != 0) {
                fail("scripts/images.sh " + k + " failed with exit " + result.exit + ":\n" + result.output);
            }
            return result.output.lines().filter(line -> line.startsWith("IMAGE=" + k + " ")).findFirst()
                    .flatMap(line -> List.of(line.split(" ")).stream().filter(f -> f.startsWith("NAME=")).findFirst())
                    .map(f -> f.substring("NAME=".length()))
                    .orElseThrow(() -> new AssertionError("no IMAGE=" + k + " line in the output of scripts/images.sh:\n" + result.output));
        });
    }

    /** The engine; stopped at the end of the test run when this extension started it. */
    private record Engine(boolean startedHere) implements AutoCloseable {
        static Engine start() {
            if (run(List.of(ROOT.resolve("scripts/install/docker.sh").toString(), "status"), Duration.ofSeconds(30)).exit == 0) {
                return new Engine(false);
            }
            Result started = run(List.of(ROOT.resolve("scripts/install/docker.sh").toString(), "start"), Duration.ofMinutes(5));
            if (started.exit != 0) {
                fail("scripts/install/docker.sh start failed with exit " + started.exit + ":\n" + started.output);
            }
            return new Engine(true);
        }

        @Override
        public void close() {
            if (startedHere) {
                Result stopped = run(List.of(ROOT.resolve("scripts/install/docker.sh").toString(), "stop"), Duration.ofMinutes(1));
                if (stopped.exit != 0) {
                    System.err.println("scripts/install/docker.sh stop failed with exit " + stopped.exit + ":\n" + stopped.output);
                }
            }
        }
    }

    record Result(int exit, String output) {}

    /** Runs a command, stdout and stderr together; stdout lines are what scripts print for machines. */
    static Result run(List<String> command, Duration timeout) {
        try {
            Path out = Files.createTempFile("lameduck-cmd", ".out");
            try {
                Process process = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true)
                        .redirectOutput(out.toFile()).start();
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor();
                    return new Result(-1, "timed out after " + timeout + ": " + command + "\n" + Files.readString(out, StandardCharsets.UTF_8));
                }
                return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            return new Result(-1, "cannot run " + command + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted: " + command);
        }
    }
}
