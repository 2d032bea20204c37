package io.lameduck.cli;

import io.lameduck.Agent;
import io.lameduck.drain.Trigger;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM and SIGINT for the whole process: the first one shuts the agent down ({@link Agent#shutdown}: the drain, or
 * the one a preStop call started, then the stop once start-up has finished); later signals are only noted. This class
 * only turns signals into that call.
 *
 * <p>Installed by the first instruction of {@code main}, before the command line is parsed, the configuration
 * read or logging set up: the kubelet may stop the pod at any moment, and until this is installed the JVM's
 * default handler exits 143 without a drain. A signal that comes before the agent exists is remembered and
 * drains the agent as soon as it is built (and is logged then, once logging has its configured format).
 * Commands other than {@code serve} get the JVM's own handling back ({@link #executionStrategy}).
 *
 * <p>Nothing here may touch logging before the signal is acted on: getting the first logger configures
 * logback, which takes longer than the window this closes. Signal handlers must return at once, so the work
 * runs on its own thread.
 */
public final class SignalShutdown {
    private static final String[] SIGNALS = {"TERM", "INT"};
    private static final SignalShutdown PROCESS = new SignalShutdown();

    private final Map<String, SignalHandler> jvmHandlers = new ConcurrentHashMap<>();
    private final CompletableFuture<Agent> agent = new CompletableFuture<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    private final AtomicReference<String> firstSignal = new AtomicReference<>();
    private final AtomicReference<Exception> failure = new AtomicReference<>();

    private SignalShutdown() {}

    /** Call first in {@code main}: from here on SIGTERM and SIGINT drain instead of killing the JVM. */
    public static SignalShutdown installForProcess() {
        for (String name : SIGNALS) {
            Signal signal = new Signal(name);
            PROCESS.jvmHandlers.putIfAbsent(name, Signal.handle(signal, PROCESS::onSignal));
        }
        return PROCESS;
    }

    /** The process-wide instance that {@code serve} attaches its agent to. */
    static SignalShutdown forProcess() {
        return PROCESS;
    }

    /**
     * Runs the parsed command; every command but {@code serve} (client commands, {@code validate}, help) first gets
     * the JVM's own signal handling back, and a signal that came meanwhile takes effect then.
     */
    public CommandLine.IExecutionStrategy executionStrategy() {
        return parsed -> {
            ParseResult command = parsed;
            while (command.hasSubcommand()) {
                command = command.subcommand();
            }
            boolean serving = command.commandSpec().userObject() instanceof ServeCommand
                    && !command.isUsageHelpRequested() && !command.isVersionHelpRequested();
            if (!serving) {
                release();
            }
            return new CommandLine.RunLast().execute(parsed);
        };
    }

    private void release() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        jvmHandlers.forEach((name, handler) -> Signal.handle(new Signal(name), handler));
        String pending = firstSignal.get();
        if (pending != null) {
            Signal.raise(new Signal(pending)); // the JVM's handler: shutdown hooks, exit 128 + signal number
        }
    }

    /**
     * The agent to drain and stop, once it is built (logging is configured by then). A signal that came while it was
     * being built starts its drain here, before {@code serve} starts it: left to the stopper thread, the drain raced the
     * start-up steps, which take a few milliseconds once the listener is already open, and the agent could become
     * READY after a SIGTERM.
     */
    void attach(Agent built) {
        if (stopping.get()) {
            built.drain(Trigger.SIGNAL);
        }
        agent.complete(built);
    }

    /** Blocks until a signal has drained and stopped the agent; rethrows what stopping failed with. */
    void awaitStopped() throws Exception {
        stopped.await();
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    private void onSignal(Signal signal) {
        if (released.get()) {
            jvmHandlers.get(signal.getName()).handle(signal); // raced with release(): behave as the JVM would
            return;
        }
        if (!stopping.compareAndSet(false, true)) {
            if (agent.isDone()) {
                log().info("received SIG{} again; the drain and stop already in progress continue", signal.getName());
            }
            return;
        }
        firstSignal.set(signal.getName());
        Thread stopper = new Thread(() -> {
            try {
                boolean early = !agent.isDone();
                Agent target = agent.get();
                log().info("received SIG{}{}: draining, then stopping", signal.getName(), early ? " during start-up" : "");
                target.shutdown(Trigger.SIGNAL);
            } catch (Exception e) {
                failure.set(e);
            } finally {
                stopped.countDown();
            }
        }, "lameduck-stop");
        stopper.setDaemon(true); // a command that ends without an agent (bad config: exit 3) must not wait for it
        stopper.start();
    }

    private static Logger log() {
        return LoggerFactory.getLogger(SignalShutdown.class);
    }
}
