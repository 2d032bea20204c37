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
        return slices.stream().filter(this::readyIn).count();
    }

    private boolean readyIn(EndpointSlice slice) {
        return slice.getEndpoints() != null && slice.getEndpoints().stream()
                .anyMatch(e -> matches(e) && (e.getConditions() == null || !Boolean.FALSE.equals(e.getConditions().getReady())));
    }
}
