package io.lameduck.cli;

import io.lameduck.Agent;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.AgentConfig.LogFormat;
import io.lameduck.config.BudgetCheck;
import io.lameduck.config.ConfigLoader;
import io.lameduck.drain.Trigger;
import io.lameduck.logging.LogSetup;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * Runs the agent until SIGTERM or SIGINT. A signal starts the drain (or joins the one a preStop call
 * started), waits for it, then closes the listener gracefully and exits 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the agent.")
final class ServeCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "${env:LAMEDUCK_CONFIG}",
            description = "YAML configuration file (env LAMEDUCK_CONFIG). Without it: defaults plus LAMEDUCK_* variables.")
    Path config;

    @Option(names = "--log-format", paramLabel = "json|text", description = "Overrides logging.format.")
    String logFormat;

    @Override
    public Integer call() throws Exception {
        AgentConfig loaded = ConfigLoader.fromSystemEnvironment().load(Optional.ofNullable(config));
        boolean json = logFormat == null ? loaded.logging().format() == LogFormat.JSON : !logFormat.equals("text");
        LogSetup.configure(json, loaded.logging().level(), false);
        BudgetCheck.warnings(loaded.drain()).forEach(LOG::warn);

        Agent agent = Agent.create(loaded, System.getenv());
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicReference<Exception> stopFailure = new AtomicReference<>();
        AtomicBoolean stopping = new AtomicBoolean();
        Signal.handle(new Signal("TERM"), signal -> onSignal(signal, agent, stopping, stopFailure, stopped));
        Signal.handle(new Signal("INT"), signal -> onSignal(signal, agent, stopping, stopFailure, stopped));

        agent.start();
        stopped.await();
        if (stopFailure.get() != null) {
            throw stopFailure.get();
        }
        LOG.info("stopped");
        return 0;
    }

    /** The first signal drains and stops on its own thread (signal handlers must return fast); later ones are noted. */
    private static void onSignal(Signal signal, Agent agent, AtomicBoolean stopping, AtomicReference<Exception> failure,
            CountDownLatch stopped) {
        if (!stopping.compareAndSet(false, true)) {
            LOG.info("received SIG{} again; the drain and stop already in progress continue", signal.getName());
            return;
        }
        LOG.info("received SIG{}: draining, then stopping", signal.getName());
        Thread stopper = new Thread(() -> {
            try {
                agent.drain(Trigger.SIGNAL).join();
                agent.stop();
            } catch (Exception e) {
                failure.set(e);
            } finally {
                stopped.countDown();
            }
        }, "lameduck-stop");
        stopper.start();
    }
}
