package io.lameduck.collect;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventList;
import io.fabric8.kubernetes.api.model.ListOptions;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lameduck.kube.DrainReportEvent;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every report Event in the cluster, once at start and then as they are written: a paginated list of the Events
 * labelled {@link DrainReportEvent#SELECTOR} in all namespaces, then a watch from the list's resourceVersion. When the
 * watch ends for good (its resourceVersion expired, the API server restarted) it lists again: the ledger tells the
 * Events already counted from the new ones, so nothing is lost or counted twice. No cache: memory does not grow with
 * the number of Events.
 */
final class EventFeed implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventFeed.class);
    static final long PAGE = 250;
    static final Duration RETRY = Duration.ofSeconds(2);

    private final KubernetesClient client;
    private final Consumer<Event> sink;
    private final Runnable listed;
    private final TimeSource time;
    private final LinkedBlockingQueue<String> relist = new LinkedBlockingQueue<>();
    private volatile boolean closed;
    private volatile Watch watch;
    private Thread thread;

    /**
     * @param sink gets each report Event (list and watch, possibly more than once)
     * @param listed runs after each complete list
     */
    EventFeed(KubernetesClient client, Consumer<Event> sink, Runnable listed, TimeSource time) {
        this.client = client;
        this.sink = sink;
        this.listed = listed;
        this.time = time;
    }

    void start() {
        thread = time.start("lameduck-collector-feed", this::run);
    }

    /** Lists everything again (after the state was reloaded), then watches on. */
    void relist(String why) {
        relist.offer(why);
    }

    private void run() {
        String why = "start";
        while (!closed) {
            try {
                String resourceVersion = list(why);
                listed.run();
                watch = client.v1().events().inAnyNamespace()
                        .watch(new ListOptionsBuilder().withLabelSelector(DrainReportEvent.SELECTOR).withResourceVersion(resourceVersion)
                                .withAllowWatchBookmarks(true).build(),
                                new Watcher<Event>() {
                                    @Override
                                    public void eventReceived(Action action, Event event) {
                                        if (action == Action.ADDED || action == Action.MODIFIED) {
                                            sink.accept(event);
                                        }
                                    }

                                    @Override
                                    public void onClose(WatcherException cause) {
                                        relist.offer("the watch ended: " + cause.getMessage());
                                    }
                                });
                why = relist.take();
                closeWatch();
            } catch (KubernetesClientException e) {
                LOG.warn("listing or watching report Events failed ({}); again in {}s{}", e.getMessage(), RETRY.toSeconds(),
                        e.getCode() == 403 ? ": the collector's ClusterRole must allow list and watch on events" : "");
                why = "retry after: " + e.getMessage();
                sleep();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A bug, or an answer the client could not decode: never let the feed's thread die silently.
                LOG.error("reading report Events failed unexpectedly; again in {}s", RETRY.toSeconds(), e);
                why = "retry after: " + e;
                sleep();
            }
        }
    }

    private String list(String why) {
        LOG.info("listing report Events in all namespaces ({})", why);
        String next = null;
        String resourceVersion;
        int count = 0;
        do {
            ListOptions options = new ListOptionsBuilder().withLabelSelector(DrainReportEvent.SELECTOR).withLimit(PAGE)
                    .withContinue(next).build();
            EventList page = client.v1().events().inAnyNamespace().list(options);
            page.getItems().forEach(sink);
            count += page.getItems().size();
            next = page.getMetadata().getContinue();
            resourceVersion = page.getMetadata().getResourceVersion();
        } while (next != null && !next.isEmpty() && !closed);
        LOG.info("listed {} report Events", count);
        return resourceVersion;
    }

    private void sleep() {
        try {
            String why = relist.poll(RETRY.toMillis(), TimeUnit.MILLISECONDS);
            if (why != null) {
                LOG.debug("retrying at once: {}", why);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    private void closeWatch() {
        Watch current = watch;
        watch = null;
        if (current != null) {
            current.close();
        }
    }

    @Override
    public void close() {
        closed = true;
        closeWatch();
        if (thread != null) {
            thread.interrupt();
        }
    }
}
