package io.lameduck.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lameduck.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What the injector adds to a pod, as the Helm chart rendered it ({@code lameduck.injector.template} in
 * helm/lameduck/templates/injector/_injector.tpl): per withdraw strategy the agent config, the sidecar in
 * classic and native form, the app containers' preStop, readiness gates, pod labels and annotations; the
 * volumes; the defaults; the pod annotation the agent config is put in; the agent's ClusterRole.
 * Immutable once loaded: the nodes are copied before use.
 */
public record InjectionTemplate(
        Strategy defaultStrategy, boolean defaultNative, String configAnnotation, ArrayNode volumes,
        Map<Strategy, Variant> strategies, String agentClusterRole) {

    /** The withdraw strategies, by their config names. */
    public enum Strategy {
        READINESS_GATE("readiness-gate"), LABEL("label"), PROBE("probe");

        private final String configName;

        Strategy(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        static Strategy fromConfigName(String name) {
            for (Strategy s : values()) {
                if (s.configName.equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException(name);
        }
    }

    /** What one withdraw strategy adds. */
    public record Variant(
            String config, ObjectNode sidecar, ObjectNode nativeSidecar, ObjectNode preStop, ArrayNode readinessGates,
            ObjectNode podLabels, ObjectNode podAnnotations) {

        /** The sidecar's container name (the same in both forms). */
        public String sidecarName() {
            return sidecar.path("name").asText();
        }
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Reads the file the chart renders (ConfigMap key template.yaml); every problem is reported at once. */
    public static InjectionTemplate load(Path file) throws ConfigException {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new ConfigException("--template " + file + ": cannot read it: " + e.getMessage());
        }
        return parse(root, "--template " + file);
    }

    static InjectionTemplate parse(JsonNode root, String source) throws ConfigException {
        List<String> problems = new ArrayList<>();
        if (root == null || !root.isObject()) {
            throw new ConfigException(source + ": expected a YAML map rendered by the chart (helm/lameduck, ConfigMap <release>-lameduck-injector)");
        }
        if (root.path("version").asInt() != 1) {
            problems.add(source + ": version is " + root.path("version") + "; this injector reads version 1 (chart and image out of step?)");
        }
        Strategy strategy = Strategy.READINESS_GATE;
        try {
            strategy = Strategy.fromConfigName(root.at("/defaults/strategy").asText());
        } catch (IllegalArgumentException e) {
            problems.add(source + ": defaults.strategy is " + root.at("/defaults/strategy") + "; expected readiness-gate, label or probe");
        }
        Map<Strategy, Variant> variants = new EnumMap<>(Strategy.class);
        for (Strategy s : Strategy.values()) {
            JsonNode v = root.path("strategies").path(s.configName());
            String at = source + ": strategies." + s.configName();
            if (!v.isObject()) {
                problems.add(at + " is missing");
                continue;
            }
            Variant variant = new Variant(v.path("config").asText(""), object(v, "sidecar", at, problems),
                    object(v, "nativeSidecar", at, problems), object(v, "preStop", at, problems),
                    array(v, "readinessGates", at, problems), object(v, "podLabels", at, problems),
                    object(v, "podAnnotations", at, problems));
            if (variant.config().isBlank()) {
                problems.add(at + ".config is missing or empty");
            }
            if (variant.sidecar().path("name").asText().isEmpty()) {
                problems.add(at + ".sidecar.name is missing");
            }
            variants.put(s, variant);
        }
        String annotation = root.path("configAnnotation").asText("");
        if (annotation.isEmpty()) {
            problems.add(source + ": configAnnotation is missing");
        }
        ArrayNode volumes = array(root, "volumes", source, problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new InjectionTemplate(strategy, root.at("/defaults/native").asBoolean(false), annotation, volumes,
                Map.copyOf(variants), root.path("agentClusterRole").asText(""));
    }

    private static ObjectNode object(JsonNode parent, String field, String at, List<String> problems) {
        JsonNode node = parent.path(field);
        if (node.isNull() || node.isMissingNode()) {
            return YAML.createObjectNode();
        }
        if (!node.isObject()) {
            problems.add(at + "." + field + " must be a map, not " + node.getNodeType());
            return YAML.createObjectNode();
        }
        return (ObjectNode) node;
    }

    private static ArrayNode array(JsonNode parent, String field, String at, List<String> problems) {
        JsonNode node = parent.path(field);
        if (node.isNull() || node.isMissingNode()) {
            return YAML.createArrayNode();
        }
        if (!node.isArray()) {
            problems.add(at + "." + field + " must be a list, not " + node.getNodeType());
            return YAML.createArrayNode();
        }
        return (ArrayNode) node;
    }
}
