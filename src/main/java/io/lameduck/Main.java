package io.lameduck;

import io.lameduck.cli.AgentUnreachableException;
import io.lameduck.cli.ExitCode;
import io.lameduck.cli.LameduckCommand;
import io.lameduck.config.ConfigException;
import io.lameduck.http.ListenerBindException;
import io.lameduck.http.ServerException;
import io.lameduck.kube.KubeUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/** Entry point. The only place that turns errors into exit codes and calls {@code System.exit}. */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        CommandLine commandLine = new CommandLine(new LameduckCommand()).setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setParameterExceptionHandler((error, arguments) -> {
            CommandLine command = error.getCommandLine();
            command.getErr().println("lameduck: " + error.getMessage());
            command.usage(command.getErr());
            return ExitCode.INVALID_CONFIG.code(); // bad arguments are bad configuration of this run
        });
        commandLine.setExecutionExceptionHandler((error, cmd, parsed) -> {
            ExitCode code = exitCodeFor(error);
            if (code == ExitCode.UNEXPECTED) {
                LOG.error("unexpected error: {}", error.toString(), error);
            } else {
                // Expected failures: the message says how to fix it; no stack trace.
                LOG.error(error.getMessage());
                System.err.println("lameduck: " + error.getMessage());
            }
            return code.code();
        });
        return commandLine.execute(args);
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
        if (error instanceof AgentUnreachableException) {
            return ExitCode.AGENT_ERROR;
        }
        return ExitCode.UNEXPECTED;
    }
}
