package io.lameduck.cli;

import io.lameduck.config.AgentConfig;
import io.lameduck.config.BudgetCheck;
import io.lameduck.config.ConfigLoader;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Checks a configuration file and prints every problem (exit 3) or "valid" with any warnings. */
@Command(name = "validate", mixinStandardHelpOptions = true, description = "Check a configuration file.")
final class ValidateCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", required = true, description = "YAML configuration file.")
    Path config;

    @Override
    public Integer call() throws Exception {
        AgentConfig loaded = ConfigLoader.fromSystemEnvironment().load(Optional.of(config));
        for (String warning : BudgetCheck.warnings(loaded.drain())) {
            System.out.println("warning: " + warning);
        }
        System.out.println(config + ": valid (" + loaded.drain().hooks().size() + " hooks, withdraw strategy "
                + loaded.drain().withdraw().strategy().configName() + ")");
        return 0;
    }
}
