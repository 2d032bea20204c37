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
import io.lameduck.time.Deadline;
import io.lameduck.time.Durations;
import io.lameduck.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits until the pod is withdrawn from the EndpointSlices of every Service that selects it. Withdrawn means
 * what consumers use: the pod's endpoint is absent from the slice, or present with {@code serving: false} (a
 * missing {@code serving} counts as serving). {@code ready: false} is not enough: Kubernetes sets it the moment
 * a pod is deleted, while kube-proxy still falls back to serving terminating endpoints and Envoy-based gateways
 * keep them as draining.
 *
 * <ol>
 *   <li>list the Services of the namespace and keep those whose selector matches the pod's labels (the
 *       labels as they were <em>before</em> a label flip, which takes the pod out of the selection);
 *   <li>list their EndpointSlices (label {@code kubernetes.io/service-name}); done if no slice lists the
 *       pod as serving;
 *   <li>watch the slices from the list's resourceVersion and re-check on every event;
 *   <li>re-list when the watch is closed by the server or the network (fabric8 reconnects a dropped watch
 *       by itself; what reaches us is a watch it gave up on, e.g. 410 Gone) and after a quiet
 *       {@link #RELIST_AFTER_SILENCE}, so a silently stalled watch cannot hide the change.
 * </ol>
 *
 * Along the way it notes when it first saw the pod not ready ({@code ready: false} or absent) and when it first
 * saw it not serving. Never waits past the deadline. The pod's endpoints are found by {@code targetRef.uid},
 * else by IP.
 */
final class EndpointVerifier {
    private static final Logger LOG = LoggerFactory.getLogger(EndpointVerifier.class);
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    static final Duration RELIST_AFTER_SILENCE = Duration.ofSeconds(2);

    private final KubernetesClient client;
    private final String namespace;
    private final ApiCalls api;
    private final Ticker ticker;
    /** Sees every watch the verifier opens; tests use it to drop one. */
    private volatile Consumer<Watch> watchOpened = watch -> { };

    /**
     * What the verification saw.
     *
     * @param readyFalseAfter when the pod was first seen not ready in every slice, from the start of the wait
     * @param servingFalseAfter when it was first seen not serving in every slice (the confirmation)
     */
    record Verification(boolean confirmed, List<String> services, int slices, long stillServing, int relists,
            Optional<Duration> readyFalseAfter, Optional<Duration> servingFalseAfter) {
        String describe() {
            if (services.isEmpty()) {
                return "no Service selects the pod, nothing to verify";
            }
            String where = slices + " EndpointSlice" + (slices == 1 ? "" : "s") + " of Service" + (services.size() == 1 ? " " : "s ")
                    + String.join(", ", services) + (relists > 0 ? " (re-listed " + relists + "x after the watch dropped)" : "");
            return confirmed
                    ? "the pod is absent or serving=false in every one of " + where
                    : "the pod is still serving in " + stillServing + " of " + where
                            + readyFalseAfter.map(d -> " (ready=false seen after " + Durations.seconds(d) + ")").orElse("");
        }
    }

    /** What the Services selecting the pod say about withdrawing it, before it is withdrawn. */
    record Selection(List<String> services, List<String> publishNotReadyAddresses, List<String> noOtherServing) {}

    EndpointVerifier(KubernetesClient client, String namespace, ApiCalls api) {
        this(client, namespace, api, Ticker.SYSTEM);
    }

    EndpointVerifier(KubernetesClient client, String namespace, ApiCalls api, Ticker ticker) {
        this.client = client;
        this.namespace = namespace;
        this.api = api;
        this.ticker = ticker;
    }

    void onWatchOpened(Consumer<Watch> listener) {
        this.watchOpened = listener;
    }

    /**
     * The Services selecting a pod with {@code servingLabels}, those with {@code publishNotReadyAddresses: true}
     * (their endpoints stay ready whatever the pod's readiness: only leaving the selector withdraws it) and
     * those in which no other pod's endpoint is serving (withdrawing this pod leaves them with none).
     */
    Selection select(Pod pod, Map<String, String> servingLabels, Deadline deadline) throws ApiException, InterruptedException {
        List<Service> selecting = servicesSelecting(servingLabels, deadline);
        List<String> names = selecting.stream().map(s -> s.getMetadata().getName()).toList();
        if (names.isEmpty()) {
            return new Selection(names, List.of(), List.of());
        }
        List<String> publishNotReady = selecting.stream()
                .filter(s -> Boolean.TRUE.equals(s.getSpec().getPublishNotReadyAddresses()))
                .map(s -> s.getMetadata().getName()).toList();
        EndpointSliceList list = api.call("list", "endpointslices", OwnPod.min(deadline.remaining(), OwnPod.CALL_LIMIT),
                () -> slicesOf(names).list());
        Map<String, List<EndpointSlice>> byService = new TreeMap<>();
        names.forEach(name -> byService.put(name, new ArrayList<>()));
        list.getItems().forEach(slice -> {
            String service = slice.getMetadata().getLabels() == null ? null : slice.getMetadata().getLabels().get(SERVICE_NAME_LABEL);
            if (service != null && byService.containsKey(service)) {
                byService.get(service).add(slice);
            }
        });
        PodEndpoints endpoints = PodEndpoints.of(pod);
        List<String> noOtherServing = byService.entrySet().stream()
                .filter(e -> endpoints.othersServingIn(e.getValue()) == 0)
                .map(Map.Entry::getKey).toList();
        return new Selection(names, publishNotReady, noOtherServing);
    }

    /**
     * Waits until no EndpointSlice of {@code services} lists the pod as serving.
     *
     * @param pod the pod (its uid and IPs identify its endpoints)
     * @param services the Services to verify on (see {@link #select})
     */
    Verification awaitWithdrawn(Pod pod, List<String> services, Deadline deadline) throws ApiException, InterruptedException {
        if (services.isEmpty()) {
            return new Verification(true, services, 0, 0, 0, Optional.empty(), Optional.empty());
        }
        Progress progress = new Progress(PodEndpoints.of(pod), ticker.nanoTime());
        Map<String, EndpointSlice> slices = new HashMap<>();
        int relists = 0;
        while (true) {
            if (deadline.isExpired()) {
                return progress.verification(false, services, slices, relists);
            }
            EndpointSliceList list = api.call("list", "endpointslices", OwnPod.min(deadline.remaining(), OwnPod.CALL_LIMIT),
                    () -> slicesOf(services).list());
            slices.clear();
            list.getItems().forEach(s -> slices.put(s.getMetadata().getName(), s));
            if (progress.withdrawn(slices.values())) {
                return progress.verification(true, services, slices, relists);
            }
            WatchOutcome outcome = watchUntilWithdrawn(services, list.getMetadata().getResourceVersion(), slices, progress, deadline);
            if (outcome == WatchOutcome.WITHDRAWN) {
                return progress.verification(true, services, slices, relists);
            }
            if (outcome == WatchOutcome.DROPPED) {
                relists++;
            }
        }
    }

    /** Notes when the pod was first seen not ready, then not serving, in every slice. */
    private final class Progress {
        private final PodEndpoints endpoints;
        private final long startNanos;
        private Duration readyFalseAfter;
        private Duration servingFalseAfter;

        Progress(PodEndpoints endpoints, long startNanos) {
            this.endpoints = endpoints;
            this.startNanos = startNanos;
        }

        /** True once the pod is absent or not serving in every slice. */
        boolean withdrawn(Collection<EndpointSlice> slices) {
            Duration now = Duration.ofNanos(ticker.nanoTime() - startNanos);
            if (readyFalseAfter == null && endpoints.readyIn(slices) == 0) {
                readyFalseAfter = now;
            }
            if (servingFalseAfter == null && endpoints.servingIn(slices) == 0) {
                servingFalseAfter = now;
            }
            return servingFalseAfter != null;
        }

        Verification verification(boolean confirmed, List<String> services, Map<String, EndpointSlice> slices, int relists) {
            return new Verification(confirmed, services, slices.size(), confirmed ? 0 : endpoints.servingIn(slices.values()), relists,
                    Optional.ofNullable(readyFalseAfter), Optional.ofNullable(servingFalseAfter));
        }
    }

    private enum WatchOutcome { WITHDRAWN, DROPPED, QUIET }

    private WatchOutcome watchUntilWithdrawn(List<String> services, String resourceVersion, Map<String, EndpointSlice> slices,
            Progress progress, Deadline deadline) throws ApiException, InterruptedException {
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
                if (progress.withdrawn(slices.values())) {
                    return WatchOutcome.WITHDRAWN;
                }
            }
        } finally {
            watch.close();
        }
    }

    private List<Service> servicesSelecting(Map<String, String> labels, Deadline deadline) throws ApiException, InterruptedException {
        List<Service> services = api.call("list", "services", OwnPod.min(deadline.remaining(), OwnPod.CALL_LIMIT),
                () -> client.services().inNamespace(namespace).list().getItems());
        return services.stream()
                .filter(s -> s.getSpec() != null && s.getSpec().getSelector() != null && !s.getSpec().getSelector().isEmpty())
                .filter(s -> s.getSpec().getSelector().entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey()))))
                .sorted(Comparator.comparing(s -> s.getMetadata().getName()))
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
