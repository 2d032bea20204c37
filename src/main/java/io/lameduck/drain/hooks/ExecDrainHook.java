package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.drain.HookFailedException;
import io.lameduck.time.Durations;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a program and waits for it to exit 0. Its stdout and stderr are combined and drained as they come; only their
 * last bytes are kept ({@link OutputTail}), for the failure message. A program that outlives the budget, or whose hook
 * is interrupted, is killed with every process it started. Whatever way it ends, the processes it left running in
 * its process group (background jobs, double-forked children: see {@link ProcessTree}) are killed too and
 * named in a WARN line: a hook never leaves work running behind the drain.
 */
final class ExecDrainHook extends AbstractDrainHook {
    /** How long killed processes get to disappear before we report them as left behind. */
    private static final Duration KILL_GRACE = Duration.ofSeconds(2);
    /** How long we wait for output still in the pipe once the program has exited (its grandchildren may hold it). */
    private static final Duration OUTPUT_SETTLE = Duration.ofMillis(200);
    private static final Logger LOG = LoggerFactory.getLogger(ExecDrainHook.class);

    private final ExecHook spec;
    private final Setsid setsid;

    /** @param setsid launches the program in a process group of its own, when available */
    ExecDrainHook(ExecHook spec, Setsid setsid) {
        super(spec);
        this.spec = spec;
        this.setsid = setsid;
    }

    @Override
    public void run(Duration budget) throws HookFailedException, InterruptedException {
        Process process = start();
        OutputTail output = OutputTail.drain(process.getInputStream(), name());
        boolean exited = false;
        try {
            exited = process.waitFor(budget.toNanos(), TimeUnit.NANOSECONDS);
        } finally {
            if (!exited) {
                // Interrupted or out of time: the contract is to leave nothing running.
                kill(process);
            }
            killLeftovers(process);
        }
        if (!exited) {
            throw new HookFailedException(program() + " did not exit within " + Durations.format(budget)
                    + " and was killed; output: " + output.tail(OUTPUT_SETTLE));
        }
        int code = process.exitValue();
        if (code != 0) {
            throw new HookFailedException(program() + " exited with code " + code + "; output: " + output.tail(OUTPUT_SETTLE));
        }
        LOG.debug("{}: {} exited with code 0", this, program());
    }

    private Process start() throws HookFailedException {
        ProcessBuilder builder = new ProcessBuilder()
                .redirectErrorStream(true) // stdout and stderr into one pipe, drained by OutputTail
                // No stdin: a program that reads it would otherwise wait forever on a pipe nobody writes.
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putAll(spec.env());
        if (spec.workingDir().isPresent()) {
            Path dir = spec.workingDir().get();
            if (!Files.isDirectory(dir)) {
                throw new HookFailedException("workingDir " + dir + " is not a directory in the agent's container; "
                        + "fix the hook's workingDir or mount the directory into the agent");
            }
            builder.directory(dir.toFile());
        }
        List<String> command = new ArrayList<>(spec.command());
        if (setsid.available()) {
            // setsid runs the program: resolve it first, so a missing one is reported as such, not as setsid's failure
            command.set(0, resolve(command.get(0), builder.environment().get("PATH"), builder.directory()).toString());
        }
        builder.command(setsid.wrap(command));
        try {
            return builder.start();
        } catch (IOException e) {
            throw new HookFailedException(cannotStart(e), e);
        }
    }

    /** The program as exec would find it: a path (relative to the working directory), else the first match on PATH. */
    private Path resolve(String program, String path, File workingDir) throws HookFailedException {
        List<Path> candidates = new ArrayList<>();
        if (program.contains("/")) {
            Path given = Path.of(program);
            candidates.add(given.isAbsolute() || workingDir == null ? given : workingDir.toPath().resolve(given));
        } else {
            for (String dir : (path == null ? "/usr/local/bin:/usr/bin:/bin" : path).split(":")) {
                candidates.add(Path.of(dir.isEmpty() ? "." : dir, program));
            }
        }
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        if (candidates.stream().anyMatch(Files::isRegularFile)) {
            throw new HookFailedException(cannotStart(new IOException("error=13, Permission denied")));
        }
        throw new HookFailedException(cannotStart(new IOException("error=2, No such file or directory")));
    }

    private String cannotStart(IOException e) {
        String message = String.valueOf(e.getMessage());
        // ProcessBuilder reports the errno of exec, e.g. "Cannot run program "x": error=2, No such file or directory".
        if (message.contains("error=2,")) {
            return "cannot run " + program() + ": program not found (no such file, and not on the agent's PATH); "
                    + "the program must exist in the agent's container, not only in the application's";
        }
        if (message.contains("error=13,")) {
            return "cannot run " + program() + ": permission denied; the file must be executable by the agent's user";
        }
        return "cannot run " + program() + ": " + message;
    }

    private void kill(Process process) {
        long start = System.nanoTime();
        List<Long> survivors = ProcessTree.kill(process.toHandle(), KILL_GRACE);
        if (survivors.isEmpty()) {
            LOG.info("{}: killed {} (pid {}) and its child processes in {}", this, program(), process.pid(),
                    Durations.format(Duration.ofNanos(System.nanoTime() - start)));
        } else {
            LOG.warn("{}: processes {} of {} still alive {} after being killed", this, survivors, program(), Durations.format(KILL_GRACE));
        }
    }

    /** Kills what the program left running in its process group after it exited (or was killed). */
    private void killLeftovers(Process process) {
        if (!setsid.available()) {
            return; // no group of its own to search: what it left behind cannot be found (warned at start-up)
        }
        List<Long> leftovers = ProcessTree.killGroup(process.pid(), KILL_GRACE);
        if (!leftovers.isEmpty()) {
            LOG.warn("{}: {} left processes {} running in its process group; killed them (a hook must not leave work behind)",
                    this, program(), leftovers);
        }
    }

    private String program() {
        return "\"" + spec.command().get(0) + "\"";
    }
}
