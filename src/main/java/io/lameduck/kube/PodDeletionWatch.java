package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lameduck.restart.PodFacts;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knows whether the agent's own pod is being deleted (it has a {@code deletionTimestamp}, or the watch saw it
 * removed; a pod that cannot be found at all is not taken as deleting, that is a wrong {@code POD_NAME}):
 *
 * <ol>
 *   <li>{@link #start} watches the pod (a watch on its name: RBAC {@code watch pods}); the first event
 *       showing a deletionTimestamp marks it deleting and calls the deletion callback once, on its own thread;
 *   <li>a watch the client gives up on (e.g. 410 Gone) is re-opened after {@link #REOPEN_AFTER};
 *   <li>{@link #isDeleting(Duration)} answers from what the watch saw, else from a fresh read of the pod
 *       (the kubelet can be faster than the watch), bounded by the given limit. Fresh reads take turns, so
 *       callers that hammer it cost at most one API read at a time;
 *   <li>every state of the pod it sees goes to the change listener as {@link PodFacts}: the restart cycles follow
 *       the containers' states through it.
 * </ol>
 *
 * Once deleting, always deleting: a pod never comes back from deletion.
 */
final class PodDeletionWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PodDeletionWatch.class);
    static final Duration REOPEN_AFTER = Duration.ofSeconds(1);

    private final KubernetesClient client;
    private final OwnPod pod;
    private final ApiCalls api;
    private final AtomicBoolean deleting = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ReentrantLock freshReads = new ReentrantLock();
    private final ScheduledExecutorService timer;
    private final AtomicBoolean notified = new AtomicBoolean();
    private volatile Runnable onDeletion; // null until start
    private volatile Consumer<PodFacts> onChange; // null until start
    private volatile Watch watch;

    PodDeletionWatch(KubernetesClient client, OwnPod pod, ApiCalls api) {
        this.client = client;
        this.pod = pod;
        this.api = api;
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "lameduck-pod-watch");
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        this.timer = executor;
    }

    /**
     * Starts watching; {@code onDeletion} runs once, when the deletion is first seen (also if it was seen before), and
     * {@code onChange} with every state of the pod seen from now on (watch events and fresh reads), in order, on the
     * watch's own thread.
     */
    void start(Runnable onDeletion, Consumer<PodFacts> onChange) {
        this.onChange = onChange;
        this.onDeletion = onDeletion;
        notifyIfDeleting();
        execute(this::open);
    }

    /** True once the pod is known to be deleting; else a fresh read, bounded by {@code limit} (false when it fails). */
    boolean isDeleting(Duration limit) throws InterruptedException {
        if (deleting.get()) {
            return true;
        }
        freshRead(limit);
        return deleting.get();
    }

    /**
     * A fresh read of the pod, bounded by {@code limit}: empty when it fails or another fresh read held the turn too
     * long. Fresh reads take turns: callers that hammer it cost at most one API read at a time.
     */
    Optional<PodFacts> freshRead(Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        if (!freshReads.tryLock(limit.toNanos(), TimeUnit.NANOSECONDS)) {
            return Optional.empty();
        }
        try {
            Duration left = Duration.ofNanos(deadline - System.nanoTime());
            Pod current = pod.get(left);
            seen(current, "a fresh read");
            return Optional.of(PodFactsOf.of(current));
        } catch (ApiException e) {
            // A 404 is not taken as "deleting": far likelier a wrong POD_NAME than a pod gone under a running agent,
            // and it must not open /prestop to anyone.
            LOG.debug("cannot read pod {} to tell whether it is being deleted: {}", pod.identity(), e.getMessage());
            return Optional.empty();
        } finally {
            freshReads.unlock();
        }
    }

    /** What start-up or any other read of the pod saw. */
    void seen(Pod current, String how) {
        if (current.getMetadata().getDeletionTimestamp() != null) {
            markDeleting("deletionTimestamp " + current.getMetadata().getDeletionTimestamp() + " (" + how + ")");
        }
        Consumer<PodFacts> listener = onChange;
        if (listener != null) {
            PodFacts facts = PodFactsOf.of(current);
            execute(() -> {
                try {
                    listener.accept(facts);
                } catch (RuntimeException e) {
                    LOG.warn("reacting to a change of pod {} failed: {}", pod.identity(), e.toString());
                }
            });
        }
    }

    boolean knownDeleting() {
        return deleting.get();
    }

    private void markDeleting(String why) {
        if (deleting.compareAndSet(false, true)) {
            LOG.info("pod {} is being deleted: {}", pod.identity(), why);
            notifyIfDeleting();
        }
    }

    private void notifyIfDeleting() {
        Runnable callback = onDeletion;
        if (callback != null && deleting.get() && notified.compareAndSet(false, true)) {
            execute(() -> {
                try {
                    callback.run();
                } catch (RuntimeException e) {
                    LOG.warn("reacting to the deletion of pod {} failed: {}", pod.identity(), e.toString());
                }
            });
        }
    }

    private void execute(Runnable task) {
        try {
            timer.execute(task);
        } catch (RejectedExecutionException e) {
            LOG.debug("pod watch closed; not running {}", task);
        }
    }

    private void open() {
        if (closed.get()) {
            return;
        }
        try {
            Pod current = pod.get(OwnPod.CALL_LIMIT);
            seen(current, "read before watching");
            String resourceVersion = current.getMetadata().getResourceVersion();
            watch = api.call("watch", OwnPod.PODS, OwnPod.CALL_LIMIT, () -> client.pods().inNamespace(pod.identity().namespace())
                    .withName(pod.identity().name())
                    .watch(new ListOptionsBuilder().withResourceVersion(resourceVersion).build(), new Handler()));
            if (closed.get()) {
                watch.close();
            }
        } catch (ApiException e) {
            if (e.kind() == ApiException.Kind.NOT_FOUND && deleting.get()) {
                LOG.debug("pod {} is gone: not watching it any more", pod.identity());
                return;
            }
            if (e.kind() == ApiException.Kind.FORBIDDEN || e.kind() == ApiException.Kind.NOT_FOUND) {
                LOG.warn("not watching pod {} for its deletion ({}); retrying cannot help, so a deletion is noticed only through SIGTERM, /prestop "
                        + "from loopback or the node IP, or a fresh read when someone else calls /prestop", pod.identity(), e.getMessage());
                return;
            }
            LOG.debug("cannot watch pod {} ({}); retrying in {}ms", pod.identity(), e.getMessage(), REOPEN_AFTER.toMillis());
            reopenLater();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void reopenLater() {
        try {
            timer.schedule(this::open, REOPEN_AFTER.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            LOG.debug("pod watch closed; not re-opening");
        }
    }

    private final class Handler implements Watcher<Pod> {
        @Override
        public void eventReceived(Action action, Pod current) {
            if (action == Action.DELETED) {
                markDeleting("the pod was deleted (watch)");
            } else if (action == Action.ADDED || action == Action.MODIFIED) {
                seen(current, "watch");
            }
        }

        @Override
        public void onClose(WatcherException cause) {
            LOG.debug("watch on pod {} closed ({}); re-opening", pod.identity(), cause.getMessage());
            reopenLater();
        }

        @Override
        public void onClose() {
            // closed by us
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Watch current = watch;
            if (current != null) {
                current.close();
            }
            timer.shutdownNow();
        }
    }
}
