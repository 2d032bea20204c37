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
        System.out.println(PrestopCommand.pretty(options.client().send("GET", "status", null, Duration.ofSeconds(10))));
        return 0;
    }
}
