package io.lameduck.node;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The EndpointSlices of one Service as they changed, each change with the time this test heard of it: what kube-proxy
 * was told and when, to set beside the refused connections of a load ({@link RefusedConnections}).
 */
final class EndpointTimeline implements AutoCloseable {
    private final List<String> changes = new ArrayList<>();
    private final Watch watch;

    private EndpointTimeline(KubernetesClient client, String namespace, String service) {
        this.watch = client.discovery().v1().endpointSlices().inNamespace(namespace)
                .withLabel("kubernetes.io/service-name", service).watch(new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, EndpointSlice slice) {
                        String endpoints = slice.getEndpoints() == null ? "" : slice.getEndpoints().stream()
                                .map(EndpointTimeline::describe).collect(Collectors.joining(" "));
                        synchronized (changes) {
                            changes.add(Instant.now() + " " + action + " [" + endpoints + "]");
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
