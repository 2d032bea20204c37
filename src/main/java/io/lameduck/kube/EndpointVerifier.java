package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.FilterWatchListDeletable;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.lameduck.drain.Deadline;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits until the EndpointSlices of every Service that selects the pod no longer list it as ready:
 *
 * <ol>
 *   <li>list the Services of the namespace and keep those whose selector matches the pod's labels (the
 *       labels as they were <em>before</em> a label flip, which takes the pod out of the selection);
 *   <li>list their EndpointSlices (label {@code kubernetes.io/service-name}); done if no slice lists the
 *       pod as ready;
 *   <li>watch the slices from the list's resourceVersion and re-check on every event;
 *   <li>re-list when the watch is closed by the server or the network (fabric8 reconnects a dropped watch
 *       by itself; what reaches us is a watch it gave up on, e.g. 410 Gone) and after a quiet
 *       {@link #RELIST_AFTER_SILENCE}, so a silently stalled watch cannot hide the change.
 * </ol>
 *
 * Never waits past the deadline. The pod's endpoints are found by {@code targetRef.uid}, else by IP.
 */
final class EndpointVerifier {
    private static final Logger LOG = LoggerFactory.getLogger(EndpointVerifier.class);
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    static final Duration RELIST_AFTER_SILENCE = Duration.ofSeconds(2);

    private final KubernetesClient client;
    private final String namespace;
    private final ApiCalls api;
    /** Sees every watch the verifier opens; tests use it to drop one. */
    private volatile Consumer<Watch> watchOpened = watch -> { };

    /** What the verification saw. */
    record Verification(boolean confirmed, List<String> services, int slices, long stillReady, int relists) {
        String describe() {
            if (services.isEmpty()) {
                return "no Service selects the pod, nothing to verify";
            }
            String where = slices + " EndpointSlice" + (slices == 1 ? "" : "s") + " of Service" + (services.size() == 1 ? " " : "s ")
                    + String.join(", ", services) + (relists > 0 ? " (re-listed " + relists + "x after the watch dropped)" : "");
            return confirmed
                    ? "the pod is not ready in any of " + where
                    : "the pod is still ready in " + stillReady + " of " + where;
        }
    }

    EndpointVerifier(KubernetesClient client, String namespace, ApiCalls api) {
        this.client = client;
        this.namespace = namespace;
        this.api = api;
    }

    void onWatchOpened(Consumer<Watch> listener) {
        this.watchOpened = listener;
    }

    /**
     * @param pod the pod (its uid and IPs identify its endpoints)
     * @param servingLabels the pod's labels while it serves: they pick the Services
     */
    Verification awaitWithdrawn(Pod pod, Map<String, String> servingLabels, Deadline deadline) throws ApiException, InterruptedException {
        List<String> services = servicesSelecting(servingLabels, deadline);
        if (services.isEmpty()) {
            return new Verification(true, services, 0, 0, 0);
        }
        PodEndpoints endpoints = PodEndpoints.of(pod);
        Map<String, EndpointSlice> slices = new HashMap<>();
        int relists = 0;
        while (true) {
            if (deadline.isExpired()) {
                return new Verification(false, services, slices.size(), endpoints.readyIn(slices.values()), relists);
            }
            EndpointSliceList list = api.call("list", "endpointslices", OwnPod.min(deadline.remaining(), OwnPod.CALL_LIMIT),
                    () -> slicesOf(services).list());
            slices.clear();
            list.getItems().forEach(s -> slices.put(s.getMetadata().getName(), s));
            if (endpoints.readyIn(slices.values()) == 0) {
                return new Verification(true, services, slices.size(), 0, relists);
            }
            WatchOutcome outcome = watchUntilWithdrawn(services, list.getMetadata().getResourceVersion(), slices, endpoints, deadline);
            if (outcome == WatchOutcome.WITHDRAWN) {
                return new Verification(true, services, slices.size(), 0, relists);
            }
            if (outcome == WatchOutcome.DROPPED) {
                relists++;
            }
        }
    }

    private enum WatchOutcome { WITHDRAWN, DROPPED, QUIET }

    private WatchOutcome watchUntilWithdrawn(List<String> services, String resourceVersion, Map<String, EndpointSlice> slices,
            PodEndpoints endpoints, Deadline deadline) throws ApiException, InterruptedException {
        BlockingQueue<SliceEvent> events = new LinkedBlockingQueue<>();
        Watch watch = api.call("watch", "endpointslices", OwnPod.min(deadline.remaining(), OwnPod.CALL_LIMIT),
                () -> slicesOf(services).watch(new ListOptionsBuilder().withResourceVersion(resourceVersion).build(), new Enqueue(events)));
        try {
            watchOpened.accept(watch);
            while (true) {
                Duration wait = deadline.cap(RELIST_AFTER_SILENCE);
                SliceEvent event = wait.isZero() ? null : events.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
                if (event == null) {
                    return WatchOutcome.QUIET;
                }
                if (event.slice() == null) {
                    LOG.debug("EndpointSlice watch in {} closed ({}); re-listing", namespace, event.why());
                    return WatchOutcome.DROPPED;
                }
                if (event.action() == Watcher.Action.DELETED) {
                    slices.remove(event.slice().getMetadata().getName());
                } else if (event.action() != Watcher.Action.ERROR && event.action() != Watcher.Action.BOOKMARK) {
                    slices.put(event.slice().getMetadata().getName(), event.slice());
                }
                if (endpoints.readyIn(slices.values()) == 0) {
                    return WatchOutcome.WITHDRAWN;
                }
            }
        } finally {
            watch.close();
        }
    }

    private List<String> servicesSelecting(Map<String, String> labels, Deadline deadline) throws ApiException, InterruptedException {
        List<Service> services = api.call("list", "services", OwnPod.min(deadline.remaining(), OwnPod.CALL_LIMIT),
                () -> client.services().inNamespace(namespace).list().getItems());
        return services.stream()
                .filter(s -> s.getSpec() != null && s.getSpec().getSelector() != null && !s.getSpec().getSelector().isEmpty())
                .filter(s -> s.getSpec().getSelector().entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey()))))
                .map(s -> s.getMetadata().getName())
                .sorted()
                .toList();
    }

    private FilterWatchListDeletable<EndpointSlice, EndpointSliceList, Resource<EndpointSlice>> slicesOf(List<String> services) {
        return client.discovery().v1().endpointSlices().inNamespace(namespace)
                .withLabelIn(SERVICE_NAME_LABEL, services.toArray(String[]::new));
    }

    /** A watch event, or (slice null) the end of the watch. */
    private record SliceEvent(Watcher.Action action, EndpointSlice slice, String why) {}

    private record Enqueue(BlockingQueue<SliceEvent> events) implements Watcher<EndpointSlice> {
        @Override
        public void eventReceived(Action action, EndpointSlice slice) {
            events.add(new SliceEvent(action, slice, null));
        }

        @Override
        public void onClose(WatcherException cause) {
            events.add(new SliceEvent(null, null, cause.getMessage()));
        }

        @Override
        public void onClose() {
            events.add(new SliceEvent(null, null, "closed"));
        }
    }
}
