package io.lameduck.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.BudgetCheck;
import io.lameduck.config.ConfigLoader;
import io.lameduck.config.ConfigSchema;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Checks a configuration file and prints every problem (exit 3) or "valid" with any warnings; or prints the
 * configuration's JSON schema, for CI pipelines and editors.
 */
@Command(name = "validate", mixinStandardHelpOptions = true, description = "Check a configuration file, or print its JSON schema.")
final class ValidateCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "YAML configuration file.")
        Path config;

        @Option(names = "--print-schema", description = "Print the configuration's JSON schema (what the Helm chart checks `config` with) and exit.")
        boolean printSchema;
    }

    @Override
    public Integer call() throws Exception {
        if (input.printSchema) {
            System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(ConfigSchema.generate()));
            return 0;
        }
        Path config = input.config;
        AgentConfig loaded = ConfigLoader.fromSystemEnvironment().load(Optional.of(config));
        for (String warning : BudgetCheck.warnings(loaded.drain())) {
            System.out.println("warning: " + warning);
        }
        System.out.println(config + ": valid (" + loaded.drain().hooks().size() + " hooks, withdraw strategy "
                + loaded.drain().withdraw().strategy().configName() + ")");
        return 0;
    }
}
