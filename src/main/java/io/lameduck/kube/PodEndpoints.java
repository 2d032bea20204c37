package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Finds one pod's endpoints in EndpointSlices: by {@code targetRef.uid}, or by IP for endpoints without
 * a target reference.
 */
record PodEndpoints(String uid, Set<String> ips) {
    static PodEndpoints of(Pod pod) {
        Set<String> ips = new HashSet<>();
        if (pod.getStatus() != null) {
            if (pod.getStatus().getPodIP() != null) {
                ips.add(pod.getStatus().getPodIP());
            }
            List<PodIP> podIps = pod.getStatus().getPodIPs();
            if (podIps != null) {
                podIps.stream().map(PodIP::getIp).filter(ip -> ip != null).forEach(ips::add);
            }
        }
        return new PodEndpoints(pod.getMetadata().getUid(), Set.copyOf(ips));
    }

    boolean matches(Endpoint endpoint) {
        ObjectReference ref = endpoint.getTargetRef();
        if (ref != null && ref.getUid() != null) {
            return ref.getUid().equals(uid);
        }
        return endpoint.getAddresses() != null && endpoint.getAddresses().stream().anyMatch(ips::contains);
    }

    /** How many of the slices still list this pod as ready (a missing {@code ready} condition counts as ready). */
    long readyIn(Collection<EndpointSlice> slices) {
        return slices.stream().filter(slice -> listsThisPod(slice, PodEndpoints::ready)).count();
    }

    /**
     * How many of the slices still list this pod as serving (a missing {@code serving} condition counts as
     * serving). What consumers use: kube-proxy falls back to serving terminating endpoints when a Service has
     * no ready one, and Envoy-based gateways keep them as draining; only absent or {@code serving: false} is out.
     */
    long servingIn(Collection<EndpointSlice> slices) {
        return slices.stream().filter(slice -> listsThisPod(slice, PodEndpoints::serving)).count();
    }

    /** How many endpoints of other pods in these slices are serving. */
    long othersServingIn(Collection<EndpointSlice> slices) {
        return slices.stream().filter(slice -> slice.getEndpoints() != null)
                .flatMap(slice -> slice.getEndpoints().stream())
                .filter(e -> !matches(e) && serving(e))
                .count();
    }

    private boolean listsThisPod(EndpointSlice slice, Predicate<Endpoint> condition) {
        return slice.getEndpoints() != null && slice.getEndpoints().stream().anyMatch(e -> matches(e) && condition.test(e));
    }

    private static boolean ready(Endpoint endpoint) {
        return endpoint.getConditions() == null || !Boolean.FALSE.equals(endpoint.getConditions().getReady());
    }

    private static boolean serving(Endpoint endpoint) {
        return endpoint.getConditions() == null || !Boolean.FALSE.equals(endpoint.getConditions().getServing());
    }
}
