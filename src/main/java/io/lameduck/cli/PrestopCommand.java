package io.lameduck.cli;

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** For {@code exec} preStop hooks: starts (or joins) the drain on the local agent and prints its report. */
@Command(name = "prestop", mixinStandardHelpOptions = true,
        description = "Drain via the running agent; blocks until the drain ends and prints the report.")
final class PrestopCommand implements Callable<Integer> {
    @Mixin
    ClientOptions options;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600", converter = ClientOptions.TimeoutSeconds.class,
            description = "Give up waiting after this many seconds (default: ${DEFAULT-VALUE}); the agent's own deadline normally ends the drain first.")
    long timeoutSeconds;

    @Option(names = "--final", description = "Drain for good, also on a pod that is not being deleted (by default such a "
            + "/prestop is taken for a container restart: the pod is put back once the container is ready again).")
    boolean forGood;

    @Override
    public Integer call() throws Exception {
        return options.printReply("POST", "prestop?trigger=cli" + (forGood ? "&final=true" : ""), null, Duration.ofSeconds(timeoutSeconds));
    }

}
