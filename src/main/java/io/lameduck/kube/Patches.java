package io.lameduck.kube;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
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

    /** A pod condition to set. */
    record Condition(String type, String status, String reason, String message) {}

    /** One pod condition; strategic merge patches merge {@code status.conditions} by {@code type}. */
    static String condition(Pod pod, String type, String status, String reason, String message, String transitionTime) {
        return conditions(pod, transitionTime, new Condition(type, status, reason, message));
    }

    /** Pod conditions, in one patch. */
    static String conditions(Pod pod, String transitionTime, Condition... conditions) {
        ObjectNode patch = against(pod);
        ArrayNode list = patch.putObject("status").putArray("conditions");
        for (Condition c : conditions) {
            list.addObject().put("type", c.type()).put("status", c.status()).put("reason", c.reason()).put("message", c.message())
                    .put("lastTransitionTime", transitionTime);
        }
        return patch.toString();
    }
}
