package io.lameduck.cli;

import io.lameduck.Agent;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.AgentConfig.LogFormat;
import io.lameduck.config.BudgetCheck;
import io.lameduck.config.ConfigLoader;
import io.lameduck.logging.LogSetup;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the agent until SIGTERM or SIGINT ({@link SignalShutdown}), then exits 0. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the agent.")
final class ServeCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "${env:LAMEDUCK_CONFIG}",
            description = "YAML configuration file (env LAMEDUCK_CONFIG). Without it: defaults plus LAMEDUCK_* variables.")
    Path config;

    @Option(names = "--log-format", paramLabel = "json|text", description = "Overrides logging.format.")
    LogFormat logFormat;

    @Override
    public Integer call() throws Exception {
        AgentConfig loaded = ConfigLoader.fromSystemEnvironment().load(Optional.ofNullable(config));
        boolean json = (logFormat == null ? loaded.logging().format() : logFormat) == LogFormat.JSON;
        LogSetup.configure(json, loaded.logging().level(), false);
        BudgetCheck.warnings(loaded.drain()).forEach(LOG::warn);

        SignalShutdown shutdown = SignalShutdown.forProcess(); // installed by main before anything else
        Agent agent = Agent.create(loaded, System.getenv());
        shutdown.attach(agent);
        agent.start();
        shutdown.awaitStopped();
        HttpClientSelectors.end(); // else the JVM waits 0.3 s for them on its way out (see there)
        LOG.info("stopped");
        return 0;
    }
}
