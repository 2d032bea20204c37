package io.lameduck.node;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The EndpointSlices of one Service as they changed, each change with the time this test heard of it: what kube-proxy
 * was told and when, to set beside the refused connections of a load ({@link RefusedConnections}).
 */
final class EndpointTimeline implements AutoCloseable {
    private final List<String> changes = new ArrayList<>();
    /** Each change as heard: the slice and the pods it then listed as serving. Guarded by {@code changes}. */
    private final List<Change> heard = new ArrayList<>();

    private record Change(Instant at, String slice, boolean deleted, List<String> servingPods) {}
    private final Watch watch;

    private EndpointTimeline(KubernetesClient client, String namespace, String service) {
        this.watch = client.discovery().v1().endpointSlices().inNamespace(namespace)
                .withLabel("kubernetes.io/service-name", service).watch(new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, EndpointSlice slice) {
                        String endpoints = slice.getEndpoints() == null ? "" : slice.getEndpoints().stream()
                                .map(EndpointTimeline::describe).collect(Collectors.joining(" "));
                        Instant now = Instant.now();
                        List<String> serving = slice.getEndpoints() == null ? List.of() : slice.getEndpoints().stream()
                                .filter(e -> e.getTargetRef() != null && Objects.equals(e.getConditions().getServing(), true))
                                .map(e -> e.getTargetRef().getName()).toList();
                        synchronized (changes) {
                            changes.add(now + " " + action + " [" + endpoints + "]");
                            heard.add(new Change(now, slice.getMetadata().getName(), action == Action.DELETED, serving));
                        }
                    }

                    @Override
                    public void onClose(WatcherException cause) {
                        synchronized (changes) {
                            changes.add(Instant.now() + " watch closed: " + cause);
                        }
                    }
                });
    }

    static EndpointTimeline follow(KubernetesClient client, String namespace, String service) {
        return new EndpointTimeline(client, namespace, service);
    }

    /** {@code 10.244.0.7(web-abc):R-S-T}: the address, its pod, and which of ready, serving, terminating hold. */
    private static String describe(Endpoint e) {
        String pod = e.getTargetRef() == null ? "?" : e.getTargetRef().getName();
        var c = e.getConditions();
        return String.join(",", e.getAddresses()) + "(" + pod + "):"
                + (Objects.equals(c.getReady(), true) ? "R" : "-") + (Objects.equals(c.getServing(), true) ? "S" : "-")
                + (Objects.equals(c.getTerminating(), true) ? "T" : "-");
    }

    /**
     * When this test first heard that no slice of the Service lists {@code pod} as serving any more (its endpoint
     * {@code serving=false}, or gone), after having heard it serving; empty when that has not happened (yet). The time is
     * when the watch event arrived: the API server's own change came at or before it.
     */
    Optional<Instant> notServingSince(String pod) {
        synchronized (changes) {
            Map<String, List<String>> slices = new HashMap<>();
            boolean wasServing = false;
            for (Change change : heard) {
                if (change.deleted()) {
                    slices.remove(change.slice());
                } else {
                    slices.put(change.slice(), change.servingPods());
                }
                boolean serving = slices.values().stream().anyMatch(pods -> pods.contains(pod));
                if (serving) {
                    wasServing = true;
                } else if (wasServing) {
                    return Optional.of(change.at());
                }
            }
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        synchronized (changes) {
            return String.join("\n  ", changes);
        }
    }

    @Override
    public void close() {
        watch.close();
    }
}
