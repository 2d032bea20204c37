package io.lameduck.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;

/**
 * The chart installed with its example workload (the demo app + the agent sidecar) in a namespace of its own,
 * from the images built for this run ({@code pullPolicy: Never}: nothing is pulled).
 */
final class ExampleRelease {
    static final String RELEASE = "ld";
    static final String DEPLOYMENT = "ld-lameduck-example";
    static final String AGENT_CONTAINER = "lameduck";
    static final String APP_CONTAINER = "app";

    final NodeCluster node;
    final String namespace;

    private ExampleRelease(NodeCluster node, String namespace) {
        this.node = node;
        this.namespace = namespace;
    }

    /** Installs and waits until the Deployment is available; {@code values} are extra {@code --set}s. */
    static ExampleRelease install(NodeCluster node, String namespace, Map<String, String> values) {
        return install(node, namespace, values, true);
    }

    /** Installs without waiting for the pods: for releases whose pods are not meant to become Ready. */
    static ExampleRelease installWithoutWaiting(NodeCluster node, String namespace, Map<String, String> values) {
        return install(node, namespace, values, false);
    }

    private static ExampleRelease install(NodeCluster node, String namespace, Map<String, String> values, boolean wait) {
        node.kubectl(Duration.ofSeconds(30), "delete", "namespace", namespace, "--ignore-not-found", "--wait=true").ok();
        node.kubectl(Duration.ofSeconds(30), "create", "namespace", namespace).ok();
        List<String> args = new ArrayList<>(List.of("install", RELEASE, "helm/lameduck", "--namespace", namespace));
        if (wait) {
            args.addAll(List.of("--wait", "--timeout", "3m"));
        }
        Map<String, String> all = new java.util.LinkedHashMap<>(defaults(node));
        all.putAll(values);
        // Image tags are hashes: --set would turn an all-digit one into a number (and drop its leading zeros).
        all.forEach((key, value) -> args.addAll(List.of(key.endsWith(".tag") ? "--set-string" : "--set", key + "=" + value)));
        node.helm(Duration.ofMinutes(4), args.toArray(String[]::new)).ok();
        return new ExampleRelease(node, namespace);
    }

    private static Map<String, String> defaults(NodeCluster node) {
        String agent = node.image("agent");
        String demo = node.image("demo");
        return Map.of(
                "image.repository", agent.substring(0, agent.lastIndexOf(':')),
                "image.tag", agent.substring(agent.lastIndexOf(':') + 1),
                "image.pullPolicy", "Never",
                "example.enabled", "true",
                "example.replicas", "2",
                "example.image.repository", demo.substring(0, demo.lastIndexOf(':')),
                "example.image.tag", demo.substring(demo.lastIndexOf(':') + 1),
                "example.image.pullPolicy", "Never");
    }

    List<Pod> pods() {
        return node.admin().pods().inNamespace(namespace)
                .withLabel("app.kubernetes.io/component", "example").list().getItems().stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    }

    static boolean condition(Pod pod, String type) {
        return pod.getStatus().getConditions().stream()
                .anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
    }

    static List<String> conditions(Pod pod) {
        return pod.getStatus().getConditions().stream().map(PodCondition::getType).toList();
    }

    void awaitReadyPods(int count) {
        Awaitility.await("the example's pods Ready").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> assertThat(pods()).filteredOn(p -> condition(p, "Ready")).hasSize(count));
    }

    void uninstall() {
        node.kubectl(Duration.ofMinutes(2), "delete", "namespace", namespace, "--wait=false").run();
    }
}
