package io.lameduck.cli;

import io.lameduck.Agent;
import io.lameduck.drain.Trigger;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT: the first one drains (or joins the drain a preStop call started), waits for
 * start-up to have finished, then stops the agent; later signals are only noted. Installed before the
 * agent is even built (connecting to the Kubernetes API can take seconds, and the kubelet may already be
 * stopping the pod): a signal that comes that early waits for the agent, then drains it. Signal handlers
 * must return at once, so the work runs on its own thread.
 */
final class SignalShutdown {
    private static final Logger LOG = LoggerFactory.getLogger(SignalShutdown.class);

    private final CompletableFuture<Agent> agent = new CompletableFuture<>();
    private final CountDownLatch startupFinished = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicReference<Exception> failure = new AtomicReference<>();

    void install() {
        Signal.handle(new Signal("TERM"), this::onSignal);
        Signal.handle(new Signal("INT"), this::onSignal);
    }

    /** The agent to drain and stop, once it is built. */
    void attach(Agent built) {
        agent.complete(built);
    }

    /** Call once {@code agent.start()} has returned or failed. */
    void startupFinished() {
        startupFinished.countDown();
    }

    /** Blocks until a signal has drained and stopped the agent; rethrows what stopping failed with. */
    void awaitStopped() throws Exception {
        stopped.await();
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    private void onSignal(Signal signal) {
        if (!stopping.compareAndSet(false, true)) {
            LOG.info("received SIG{} again; the drain and stop already in progress continue", signal.getName());
            return;
        }
        LOG.info("received SIG{}: draining, then stopping", signal.getName());
        Thread stopper = new Thread(() -> {
            try {
                Agent target = agent.get();
                target.drain(Trigger.SIGNAL).join();
                startupFinished.await();
                target.stop();
            } catch (Exception e) {
                failure.set(e);
            } finally {
                stopped.countDown();
            }
        }, "lameduck-stop");
        stopper.start();
    }
}
