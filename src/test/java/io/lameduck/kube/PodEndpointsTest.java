package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which endpoints count as this pod's, and as ready or serving (the rules consumers apply). */
class PodEndpointsTest {
    private static final PodEndpoints POD = PodEndpoints.of(new PodBuilder()
            .withNewMetadata().withName("me").withUid("uid-me").endMetadata()
            .withNewStatus().withPodIP("10.244.0.5").endStatus().build());

    private static Endpoint endpoint(String uid, String ip, Boolean ready, Boolean serving) {
        EndpointBuilder endpoint = new EndpointBuilder().withAddresses(ip);
        if (uid != null) {
            endpoint.withNewTargetRef().withKind("Pod").withUid(uid).endTargetRef();
        }
        if (ready != null || serving != null) {
            endpoint.withNewConditions().withReady(ready).withServing(serving).endConditions();
        }
        return endpoint.build();
    }

    private static EndpointSlice slice(Endpoint... endpoints) {
        return new EndpointSliceBuilder().withNewMetadata().withName("s").endMetadata().withEndpoints(endpoints).build();
    }

    @Test
    void aTerminatingEndpointThatStillServesIsNotReadyButNotWithdrawn() {
        List<EndpointSlice> slices = List.of(slice(endpoint("uid-me", "10.244.0.5", false, true)));
        assertThat(POD.readyIn(slices)).isZero();
        assertThat(POD.servingIn(slices)).isEqualTo(1);
    }

    @Test
    void aMissingServingConditionCountsAsServingAndServingFalseOrAbsenceIsWithdrawn() {
        assertThat(POD.servingIn(List.of(slice(endpoint("uid-me", "10.244.0.5", false, null))))).isEqualTo(1);
        assertThat(POD.servingIn(List.of(slice(endpoint("uid-me", "10.244.0.5", null, null))))).isEqualTo(1);
        assertThat(POD.servingIn(List.of(slice(endpoint("uid-me", "10.244.0.5", false, false))))).isZero();
        assertThat(POD.servingIn(List.of(slice(endpoint("uid-other", "10.244.0.6", true, true))))).isZero();
        assertThat(POD.servingIn(List.of(slice()))).isZero();
    }

    @Test
    void endpointsWithoutTargetRefAreMatchedByIpAndOthersServingCountsOnlyOtherPods() {
        List<EndpointSlice> slices = List.of(slice(endpoint(null, "10.244.0.5", true, true), endpoint("uid-other", "10.244.0.6", true, true),
                endpoint("uid-gone", "10.244.0.7", false, false)));
        assertThat(POD.servingIn(slices)).isEqualTo(1);
        assertThat(POD.othersServingIn(slices)).isEqualTo(1);
        assertThat(POD.othersServingIn(List.of(slice(endpoint("uid-me", "10.244.0.5", true, true))))).isZero();
    }
}
