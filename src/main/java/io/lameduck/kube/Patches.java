package io.lameduck.kube;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;

/** Builds the strategic merge patches the agent sends; each carries the resourceVersion it was computed from. */
final class Patches {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Patches() {}

    /** {@code {"metadata": {"resourceVersion": ...}}}, to add fields to. */
    static ObjectNode against(Pod pod) {
        ObjectNode patch = JSON.createObjectNode();
        patch.putObject("metadata").put("resourceVersion", pod.getMetadata().getResourceVersion());
        return patch;
    }

    static String label(Pod pod, String key, String value) {
        ObjectNode patch = against(pod);
        ((ObjectNode) patch.get("metadata")).putObject("labels").put(key, value);
        return patch.toString();
    }

    /** Sets the annotation, or removes it when {@code value} is null. */
    static String annotation(Pod pod, String key, String value) {
        ObjectNode patch = against(pod);
        ObjectNode annotations = ((ObjectNode) patch.get("metadata")).putObject("annotations");
        if (value == null) {
            annotations.putNull(key);
        } else {
            annotations.put(key, value);
        }
        return patch.toString();
    }

    /** One pod condition; strategic merge patches merge {@code status.conditions} by {@code type}. */
    static String condition(Pod pod, String type, String status, String reason, String message, String transitionTime) {
        ObjectNode patch = against(pod);
        ObjectNode condition = patch.putObject("status").putArray("conditions").addObject();
        condition.put("type", type).put("status", status).put("reason", reason).put("message", message)
                .put("lastTransitionTime", transitionTime);
        return patch.toString();
    }
}
