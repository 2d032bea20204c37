package io.lameduck.cli;

import io.lameduck.Version;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/** The {@code lameduck} command: the agent ({@code serve}) and its client commands. */
@Command(name = "lameduck", mixinStandardHelpOptions = true, versionProvider = LameduckCommand.VersionProvider.class,
        description = "Graceful-shutdown sidecar for Kubernetes: drains the pod before the app gets SIGTERM.",
        subcommands = {ServeCommand.class, ValidateCommand.class, PrestopCommand.class, MaintenanceCommand.class,
                StatusCommand.class, InjectorCommand.class, CheckCommand.class, CollectorCommand.class,
                TerminationsCommand.class})
public final class LameduckCommand {
    static final class VersionProvider implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"lameduck " + Version.current()};
        }
    }
}
