package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.Durations;
import io.lameduck.drain.HookFailedException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a program and waits for it to exit 0. Its stdout and stderr are combined and drained as they come; only their
 * last bytes are kept ({@link OutputTail}), for the failure message. A program that outlives the budget, or whose hook is interrupted, is killed with every process it
 * started.
 */
final class ExecDrainHook extends AbstractDrainHook {
    /** How long killed processes get to disappear before we report them as left behind. */
    private static final Duration KILL_GRACE = Duration.ofSeconds(2);
    /** How long we wait for output still in the pipe once the program has exited (its grandchildren may hold it). */
    private static final Duration OUTPUT_SETTLE = Duration.ofMillis(200);
    private static final Logger LOG = LoggerFactory.getLogger(ExecDrainHook.class);

    private final ExecHook spec;

    ExecDrainHook(ExecHook spec) {
        super(spec);
        this.spec = spec;
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
        ProcessBuilder builder = new ProcessBuilder(spec.command())
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
        try {
            return builder.start();
        } catch (IOException e) {
            throw new HookFailedException(cannotStart(e), e);
        }
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

    private String program() {
        return "\"" + spec.command().get(0) + "\"";
    }
}
