package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.groups.Tuple.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Test;

class LeanPodModelTest {
    /** A pod as the API server answers it for a chart-deployed app: the fields the agent reads and many it does not. */
    private static final String POD = """
            {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "demo-7d9c-abcde", "namespace": "shop", "uid": "0b7c", "resourceVersion": "4711",
               "labels": {"app": "demo"}, "annotations": {"lameduck.io/maintenance": "off"},
               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "demo-7d9c", "uid": "r1", "controller": true}]},
             "spec": {
               "terminationGracePeriodSeconds": 30,
               "readinessGates": [{"conditionType": "lameduck.io/serving"}],
               "initContainers": [
                 {"name": "migrate", "image": "demo:1", "command": ["/migrate"]},
                 {"name": "lameduck", "image": "localhost/lameduck:1", "restartPolicy": "Always",
                  "ports": [{"name": "admin", "containerPort": 8079, "protocol": "TCP"}],
                  "startupProbe": {"httpGet": {"path": "/readyz", "port": 8079}, "periodSeconds": 1},
                  "resources": {"requests": {"cpu": "10m", "memory": "80Mi"}},
                  "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
               "containers": [{"name": "app", "image": "demo:1",
                 "lifecycle": {"preStop": {"exec": {"command": ["lameduck", "prestop"]}}},
                 "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
                 "securityContext": {"runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}}}],
               "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                 {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                 {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}],
               "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                 "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "demo"}}}}]}},
               "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
               "nodeName": "node-1", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "priority": 0, "enableServiceLinks": true},
             "status": {"phase": "Running", "podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}],
               "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI", "message": "evicted"},
                              {"type": "lameduck.io/serving", "status": "True"}],
               "initContainerStatuses": [
                 {"name": "migrate", "restartCount": 0, "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                 {"name": "lameduck", "restartCount": 1, "ready": true, "started": true, "state": {"running": {"startedAt": "2026-12-06T04:00:00Z"}},
                  "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-12-06T03:59:59Z"}}}],
               "containerStatuses": [{"name": "app", "restartCount": 0, "ready": true, "state": {"running": {"startedAt": "2026-12-06T04:00:00Z"}}}]}}
            """;

    private final KubernetesSerialization lean = LeanPodModel.serialization();
    private final KubernetesSerialization full = new KubernetesSerialization();

    @Test
    void readsTheFieldsTheAgentUsesAsTheFullModelDoes() {
        Pod leanPod = lean.unmarshal(POD, Pod.class);
        Pod fullPod = full.unmarshal(POD, Pod.class);

        assertThat(leanPod.getMetadata()).isEqualTo(fullPod.getMetadata());
        assertThat(leanPod.getStatus()).isEqualTo(fullPod.getStatus());
        assertThat(leanPod.getSpec().getTerminationGracePeriodSeconds()).isEqualTo(30L);
        assertThat(leanPod.getSpec().getReadinessGates()).isEqualTo(fullPod.getSpec().getReadinessGates());
        assertThat(leanPod.getSpec().getInitContainers()).extracting(Container::getName, Container::getRestartPolicy)
                .containsExactly(tuple("migrate", null), tuple("lameduck", "Always"));
        assertThat(leanPod.getSpec().getContainers()).extracting(Container::getName).containsExactly("app");
        assertThat(PodFactsOf.of(leanPod)).isEqualTo(PodFactsOf.of(fullPod));
        assertThat(PodFactsOf.of(leanPod).containers()).hasSize(2); // the app and the native sidecar, not the finished init container
        assertThat(Workload.of(leanPod)).isEqualTo(Workload.of(fullPod));
        assertThat(PodEndpoints.of(leanPod)).isEqualTo(PodEndpoints.of(fullPod));
    }

    @Test
    void keepsEveryOtherFieldAsPlainJsonSoThePodSerializesBackUnchanged() throws Exception {
        Pod leanPod = lean.unmarshal(POD, Pod.class);

        assertThat(leanPod.getSpec().getVolumes()).isEmpty(); // not read as typed volumes...
        assertThat(leanPod.getSpec().getAdditionalProperties()).containsKeys("volumes", "affinity", "tolerations", "nodeName");
        assertThat(leanPod.getSpec().getInitContainers().get(1).getAdditionalProperties()).containsKeys("ports", "startupProbe", "env");
        ObjectMapper json = new ObjectMapper();
        JsonNode written = json.readTree(full.asJson(leanPod)); // ...and none of them lost
        assertThat(written).isEqualTo(json.readTree(POD));
    }

    @Test
    void rejectsWhatTheFullModelRejects() {
        for (String bad : new String[] {
                POD.replace("\"terminationGracePeriodSeconds\": 30", "\"terminationGracePeriodSeconds\": \"soon\""),
                POD.replace("\"readinessGates\": [{\"conditionType\": \"lameduck.io/serving\"}]", "\"readinessGates\": 7"),
                "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": [1, 2]}",
                "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": {\"initContainers\": [\"app\"]}}"}) {
            Throwable fullError = catchThrowable(() -> full.unmarshal(bad, Pod.class));
            assertThat(fullError).as(bad).isNotNull();
            assertThatThrownBy(() -> lean.unmarshal(bad, Pod.class)).as(bad).isInstanceOf(fullError.getClass());
        }
    }

    @Test
    void readsAbsentAndNullFieldsAsTheFullModelDoes() {
        String sparse = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"},"
                + " \"spec\": {\"terminationGracePeriodSeconds\": null, \"containers\": [{\"name\": \"app\"}]}}";
        Pod leanPod = lean.unmarshal(sparse, Pod.class);
        Pod fullPod = full.unmarshal(sparse, Pod.class);

        assertThat(leanPod.getSpec().getTerminationGracePeriodSeconds()).isNull();
        assertThat(leanPod.getSpec().getInitContainers()).isEqualTo(fullPod.getSpec().getInitContainers()).isEmpty();
        assertThat(leanPod.getSpec().getReadinessGates()).isEqualTo(fullPod.getSpec().getReadinessGates()).isEmpty();
        assertThat(PodFactsOf.of(leanPod)).isEqualTo(PodFactsOf.of(fullPod));
    }
}
