package io.lameduck.cli;

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Prints the agent's /status. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the agent's state, maintenance and last drain.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ClientOptions options;

    @Override
    public Integer call() throws Exception {
        return options.printReply("GET", "status", null, Duration.ofSeconds(10));
    }
}
