package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WorkloadTest {
    @ParameterizedTest(name = "{0} {1}, pod-template-hash {2} -> {3} {4}")
    @CsvSource(nullValues = "-", value = {
        "ReplicaSet,  web-7d4b9c6f8d, 7d4b9c6f8d, Deployment,  web",
        "ReplicaSet,  web-7d4b9c6f8d, -,          ReplicaSet,  web-7d4b9c6f8d", // a bare ReplicaSet: no hash label
        "ReplicaSet,  web,            7d4b9c6f8d, ReplicaSet,  web",            // the name does not end in the hash
        "StatefulSet, db,             -,          StatefulSet, db",
        "DaemonSet,   agent,          -,          DaemonSet,   agent",
        "Job,         migrate-29,     -,          Job,         migrate-29",
        "-,           -,              -,          Pod,         web-7d4b9c6f8d-x2x"})
    void theWorkloadComesFromThePodsControllerAndItsTemplateHash(String ownerKind, String owner, String hash, String kind, String name) {
        PodBuilder pod = new PodBuilder().withNewMetadata().withName("web-7d4b9c6f8d-x2x").endMetadata();
        if (ownerKind != null) {
            pod.editMetadata().addNewOwnerReference().withKind("ConfigMap").withName("not-the-controller").withController(false).endOwnerReference()
                    .addNewOwnerReference().withKind(ownerKind).withName(owner).withController(true).endOwnerReference().endMetadata();
        }
        if (hash != null) {
            pod.editMetadata().withLabels(Map.of(Workload.TEMPLATE_HASH, hash)).endMetadata();
        }
        Pod built = pod.build();
        assertThat(Workload.of(built)).isEqualTo(new Workload(kind, name));
    }
}
