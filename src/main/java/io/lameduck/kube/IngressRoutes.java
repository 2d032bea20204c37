package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressList;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Which Ingresses of the pod's namespace route to the Services that select it. An ingress controller sends requests
 * straight to the pod IPs over keep-alive connections it pools, and keeps doing so until it applies the endpoint
 * change, however late that is; from the pod it looks like a client pinned by conntrack, which waiting does not move.
 * Knowing that an Ingress routes to the pod is what lets the drain wait for the one and not for the other.
 */
final class IngressRoutes {
    /** A namespace holds a few Ingresses; past this many the rest are not looked at (and the answer says so). */
    static final long LIST_LIMIT = 500;

    private final KubernetesClient client;
    private final String namespace;
    private final ApiCalls api;
    private final long listLimit;

    IngressRoutes(KubernetesClient client, String namespace, ApiCalls api) {
        this(client, namespace, api, LIST_LIMIT);
    }

    /** As above, looking at no more than {@code listLimit} Ingresses (tests use a small one). */
    IngressRoutes(KubernetesClient client, String namespace, ApiCalls api, long listLimit) {
        this.client = client;
        this.namespace = namespace;
        this.api = api;
        this.listLimit = listLimit;
    }

    /**
     * What the Ingresses say about {@code services}.
     *
     * @param routes {@code ingress -> service} for each Ingress with a backend among the Services, sorted
     * @param note what the answer leaves out (more Ingresses than the list limit); empty when nothing
     */
    record Found(List<String> routes, Optional<String> note) {}

    /** The Ingresses routing to any of {@code services}, the call bounded by {@code limit}; none without Services. */
    Found routingTo(Collection<String> services, Duration limit) throws ApiException, InterruptedException {
        if (services.isEmpty()) {
            return new Found(List.of(), Optional.empty());
        }
        IngressList list = api.call("list", "ingresses", limit,
                () -> client.network().v1().ingresses().inNamespace(namespace).list(new ListOptionsBuilder().withLimit(listLimit).build()));
        Set<String> routes = new TreeSet<>();
        for (Ingress ingress : list.getItems()) {
            backends(ingress).filter(services::contains)
                    .forEach(service -> routes.add(ingress.getMetadata().getName() + " -> " + service));
        }
        String more = list.getMetadata() == null ? null : list.getMetadata().getContinue();
        Optional<String> note = more == null || more.isEmpty() ? Optional.empty()
                : Optional.of("more than " + listLimit + " Ingresses in namespace " + namespace + ": only the first " + listLimit + " were looked at");
        return new Found(List.copyOf(routes), note);
    }

    /** The Service names an Ingress sends to: its default backend and every path's. */
    static Stream<String> backends(Ingress ingress) {
        if (ingress.getSpec() == null) {
            return Stream.empty();
        }
        List<IngressBackend> backends = new ArrayList<>();
        backends.add(ingress.getSpec().getDefaultBackend());
        List<IngressRule> rules = ingress.getSpec().getRules() == null ? List.of() : ingress.getSpec().getRules();
        for (IngressRule rule : rules) {
            List<HTTPIngressPath> paths = rule == null || rule.getHttp() == null || rule.getHttp().getPaths() == null
                    ? List.of() : rule.getHttp().getPaths();
            paths.stream().filter(Objects::nonNull).map(HTTPIngressPath::getBackend).forEach(backends::add);
        }
        return backends.stream().filter(b -> b != null && b.getService() != null && b.getService().getName() != null)
                .map(b -> b.getService().getName()).distinct();
    }
}
