package io.lameduck;

import io.lameduck.cli.AgentUnreachableException;
import io.lameduck.cli.CheckFailedException;
import io.lameduck.cli.CollectorUnreachableException;
import io.lameduck.cli.ExitCode;
import io.lameduck.cli.LameduckCommand;
import io.lameduck.cli.ServeArguments;
import io.lameduck.cli.SignalShutdown;
import io.lameduck.config.ConfigException;
import io.lameduck.http.JettyHints;
import io.lameduck.http.ListenerBindException;
import io.lameduck.http.ServerException;
import io.lameduck.kube.KubeUnavailableException;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/** Entry point. The only place that turns errors into exit codes and calls {@code System.exit}. */
public final class Main {
    private Main() {}

    /**
     * Signal handling comes first, before anything that takes time (no static logger here: creating one
     * configures logback), so a SIGTERM at any moment of start-up drains instead of killing the JVM.
     */
    public static void main(String[] args) {
        SignalShutdown signals = SignalShutdown.installForProcess();
        JettyHints.set();
        System.exit(run(args, signals));
    }

    /**
     * Runs the command. {@code serve}, as containers run it, is read without picocli ({@link ServeArguments}: about
     * 0.1 CPU-seconds less on every pod's way to READY); everything else, help included, goes through picocli.
     */
    static int run(String[] args, SignalShutdown signals) {
        Optional<Callable<Integer>> serve = ServeArguments.fastPath(args, System.getenv());
        if (serve.isPresent()) {
            try {
                return serve.get().call();
            } catch (Exception e) {
                return failed(e);
            }
        }
        CommandLine commandLine = new CommandLine(new LameduckCommand()).setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setExecutionStrategy(signals.executionStrategy());
        commandLine.setParameterExceptionHandler((error, arguments) -> {
            CommandLine command = error.getCommandLine();
            command.getErr().println("lameduck: " + error.getMessage());
            command.usage(command.getErr());
            return ExitCode.INVALID_CONFIG.code(); // bad arguments are bad configuration of this run
        });
        commandLine.setExecutionExceptionHandler((error, cmd, parsed) -> failed(error));
        return commandLine.execute(args);
    }

    /** The exit code for a command that failed, with what the reader needs to know said once. */
    private static int failed(Exception error) {
        ExitCode code = exitCodeFor(error);
        if (error instanceof CheckFailedException) {
            // What a check found, with what to check: said once, not also as a log line.
            System.err.println("lameduck: " + error.getMessage());
            return code.code();
        }
        Logger log = LoggerFactory.getLogger(Main.class);
        if (code == ExitCode.UNEXPECTED) {
            log.error("unexpected error: {}", error.toString(), error);
        } else {
            // Expected failures: the message says how to fix it; no stack trace.
            log.error(error.getMessage());
            System.err.println("lameduck: " + error.getMessage());
        }
        return code.code();
    }

    static ExitCode exitCodeFor(Throwable error) {
        if (error instanceof ConfigException || error instanceof KubeUnavailableException) {
            return ExitCode.INVALID_CONFIG;
        }
        if (error instanceof ListenerBindException) {
            return ExitCode.CANNOT_BIND;
        }
        if (error instanceof ServerException) {
            return ExitCode.SERVER_ERROR;
        }
        if (error instanceof AgentUnreachableException || error instanceof CollectorUnreachableException) {
            return ExitCode.AGENT_ERROR;
        }
        if (error instanceof CheckFailedException) {
            return ExitCode.CHECK_FAILED;
        }
        return ExitCode.UNEXPECTED;
    }
}
