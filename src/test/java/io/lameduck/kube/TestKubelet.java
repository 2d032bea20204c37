package io.lameduck.kube;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodReadinessGate;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;

/**
 * Plays the kubelet's part for pod status, since the test cluster has none: registers a Node, "starts"
 * pods bound to it (pod IP, phase Running, container ready) and keeps the {@code Ready} condition equal to
 * what the kubelet computes: containers ready AND every readiness gate condition True. That is what the
 * real EndpointSlice controller reads to mark the pod's endpoints ready or not.
 */
final class TestKubelet implements AutoCloseable {
    static final String NODE = "lameduck-test-node";
    static final String NODE_IP = "192.0.2.10";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KubernetesClient admin;
    private final SharedIndexInformer<Pod> informer;
    private final AtomicInteger nextIp = new AtomicInteger();
    /** Pods whose application container the test declared unready ({@code namespace/name}). */
    private final Set<String> containersUnready = ConcurrentHashMap.newKeySet();

    TestKubelet(KubernetesClient admin) {
        this.admin = admin;
        admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE)
                .addToLabels("kubernetes.io/hostname", NODE).endMetadata().build()).create();
        informer = admin.pods().inAnyNamespace().withField("spec.nodeName", NODE).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                sync(pod);
            }

            @Override
            public void onUpdate(Pod old, Pod pod) {
                sync(pod);
            }

            @Override
            public void onDelete(Pod pod, boolean unknownFinalState) {}
        });
    }

    /**
     * Creates a pod on the test node and waits until it runs and is Ready (Ready also needs the readiness
     * gate True, if it has one: the test sets it, as the agent would at READY).
     */
    Pod runPod(String namespace, String name, Map<String, String> labels, List<String> readinessGates, long gracePeriodSeconds) {
        PodBuilder pod = new PodBuilder()
                .withNewMetadata().withNamespace(namespace).withName(name).withLabels(labels).endMetadata()
                .withNewSpec().withNodeName(NODE).withTerminationGracePeriodSeconds(gracePeriodSeconds)
                    .addNewContainer().withName("app").withImage("registry.example/app:1")
                        .addNewPort().withContainerPort(8080).endPort().endContainer()
                    .addNewContainer().withName("lameduck").withImage("registry.example/lameduck:1").endContainer()
                .endSpec();
        readinessGates.forEach(gate -> pod.editSpec().addNewReadinessGate().withConditionType(gate).endReadinessGate().endSpec());
        admin.pods().inNamespace(namespace).resource(pod.build()).create();
        Awaitility.await("pod " + namespace + "/" + name + " running").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> admin.pods().inNamespace(namespace).withName(name).get().getStatus().getPodIP() != null);
        return admin.pods().inNamespace(namespace).withName(name).get();
    }

    /** Sets the application container's readiness, as a readiness probe result would. */
    void containersReady(String namespace, String name, boolean ready) {
        if (ready) {
            containersUnready.remove(namespace + "/" + name);
        } else {
            containersUnready.add(namespace + "/" + name);
        }
        Pod pod = admin.pods().inNamespace(namespace).withName(name).get();
        patchStatus(pod, statusPatch(pod, containersReady(pod)));
    }

    private void sync(Pod pod) {
        if (pod.getStatus() == null || pod.getStatus().getPodIP() == null || !Objects.equals(readyWanted(pod), condition(pod, "Ready"))
                || !Objects.equals(containersReady(pod) ? "True" : "False", condition(pod, "ContainersReady"))) {
            patchStatus(pod, statusPatch(pod, containersReady(pod)));
        }
    }

    private boolean containersReady(Pod pod) {
        return !containersUnready.contains(pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName());
    }

    /** The kubelet's rule: Ready = containers ready AND every readiness gate condition True. */
    private static String readyWanted(Pod pod) {
        boolean gatesTrue = pod.getSpec().getReadinessGates().stream().map(PodReadinessGate::getConditionType)
                .allMatch(type -> "True".equals(condition(pod, type)));
        boolean containers = !"False".equals(condition(pod, "ContainersReady"));
        return containers && gatesTrue ? "True" : "False";
    }

    private static String condition(Pod pod, String type) {
        if (pod.getStatus() == null) {
            return null;
        }
        return pod.getStatus().getConditions().stream().filter(c -> type.equals(c.getType()))
                .map(PodCondition::getStatus).findFirst().orElse(null);
    }

    private String statusPatch(Pod pod, boolean containersReady) {
        ObjectNode status = JSON.createObjectNode();
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        if (pod.getStatus() == null || pod.getStatus().getPodIP() == null) {
            int n = nextIp.incrementAndGet();
            String ip = "10.244." + (n / 250) + "." + (n % 250 + 1);
            status.put("phase", "Running").put("podIP", ip).put("hostIP", NODE_IP).put("startTime", now);
            status.putArray("podIPs").addObject().put("ip", ip);
            status.putArray("hostIPs").addObject().put("ip", NODE_IP);
        }
        String containers = containersReady ? "True" : "False";
        boolean gatesTrue = pod.getSpec().getReadinessGates().stream().map(PodReadinessGate::getConditionType)
                .allMatch(type -> "True".equals(condition(pod, type)));
        ArrayNode conditions = status.putArray("conditions");
        conditions.addObject().put("type", "PodScheduled").put("status", "True").put("lastTransitionTime", now);
        conditions.addObject().put("type", "Initialized").put("status", "True").put("lastTransitionTime", now);
        conditions.addObject().put("type", "ContainersReady").put("status", containers).put("lastTransitionTime", now);
        conditions.addObject().put("type", "Ready").put("status", containersReady && gatesTrue ? "True" : "False")
                .put("lastTransitionTime", now);
        ArrayNode containerStatuses = status.putArray("containerStatuses");
        pod.getSpec().getContainers().forEach(c -> containerStatuses.addObject()
                .put("name", c.getName()).put("image", c.getImage()).put("imageID", "").put("ready", containersReady)
                .put("started", true).put("restartCount", 0)
                .putObject("state").putObject("running").put("startedAt", now));
        ObjectNode patch = JSON.createObjectNode();
        patch.set("status", status);
        return patch.toString();
    }

    private void patchStatus(Pod pod, String patch) {
        try {
            admin.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                    .subresource("status").patch(PatchContext.of(PatchType.STRATEGIC_MERGE), patch);
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw e;
            }
        }
    }

    @Override
    public void close() {
        informer.close();
    }
}
