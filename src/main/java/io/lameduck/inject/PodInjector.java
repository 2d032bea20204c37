package io.lameduck.inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.BudgetCheck;
import io.lameduck.config.ConfigException;
import io.lameduck.config.ConfigLoader;
import io.lameduck.inject.InjectionTemplate.Strategy;
import io.lameduck.inject.InjectionTemplate.Variant;
import io.lameduck.time.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Computes the JSON patch that adds the agent to a pod, from the chart-rendered {@link InjectionTemplate}.
 * Pure: no I/O, the same pod and template always give the same decision.
 *
 * <ol>
 *   <li>Opted out ({@code lameduck.io/inject: disabled} as label or annotation): skip.
 *   <li>Already injected (the {@code lameduck.io/injected} annotation or a container of the sidecar's name): skip,
 *       so a second pass never doubles anything.
 *   <li>Overrides from annotations (strategy, native, ports, budget) pick the variant and adjust the agent
 *       config; a malformed override, or a config the agent would reject, skips the pod with the reason.
 *   <li>The watched ports default to the TCP {@code containerPort}s the app containers declare (the chart's ports,
 *       with a warning, when none does).
 *   <li>The budget defaults to the pod's terminationGracePeriodSeconds (the fallback deadline the agent uses
 *       when it has no deletionTimestamp), when that makes a valid config.
 *   <li>App containers without a preStop get the agent's; those with one KEEP theirs (see below).
 *   <li>The sidecar goes last in {@code containers} (classic) or last in {@code initContainers} (native), the
 *       readiness gates, labels, annotations (with the agent config) and volumes are added.
 *   <li>A pod with {@code automountServiceAccountToken: false} keeps its app containers without a token; the sidecar
 *       alone gets one, in a projected volume mounted where the automounted one would be (the agent needs the API for
 *       every withdraw strategy but probe). The pod's choice is about its app, which does not see the token.
 * </ol>
 *
 * <p>An app's own preStop is kept and ours is not added to that container: a container has one preStop
 * handler, an {@code httpGet} cannot be chained with the app's {@code exec}, and the app image does not have
 * the agent CLI to call it first. Replacing the app's hook would silently drop what its authors needed
 * (flushing, deregistering). The pod is still injected: in classic mode the agent drains on its own SIGTERM,
 * which the kubelet sends while the app's preStop runs, so a preStop such as {@code sleep 15} still gives
 * the withdrawal time. The kept containers are listed in {@code lameduck.io/prestop-kept} and in a warning.
 */
public final class PodInjector {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final int MIN_DERIVED_BUDGET_SECONDS = 5;

    private final InjectionTemplate template;
    private final String version;

    /** @param version written into {@code lameduck.io/injected} (the injector's version) */
    public PodInjector(InjectionTemplate template, String version) {
        this.template = template;
        this.version = version;
    }

    public Decision decide(JsonNode pod) {
        JsonNode metadata = pod.path("metadata");
        JsonNode spec = pod.path("spec");
        String sidecarName = template.strategies().get(template.defaultStrategy()).sidecarName();
        if ("disabled".equals(metadata.path("labels").path(Annotations.INJECT).asText())
                || "disabled".equals(metadata.path("annotations").path(Annotations.INJECT).asText())) {
            return new Decision.Skip(SkipReason.OPTED_OUT, Annotations.INJECT + " is disabled");
        }
        if (metadata.path("annotations").has(Annotations.INJECTED)
                || hasNamed(spec.path("containers"), sidecarName) || hasNamed(spec.path("initContainers"), sidecarName)) {
            return new Decision.Skip(SkipReason.ALREADY_INJECTED, "already has the " + sidecarName + " sidecar");
        }
        for (String volume : volumeNames()) {
            if (hasNamed(spec.path("volumes"), volume)) {
                return new Decision.Skip(SkipReason.CONFLICT, "the pod already has a volume named " + volume
                        + ", which the sidecar needs; rename it or opt the pod out with " + Annotations.INJECT + ": disabled");
            }
        }
        Overrides overrides;
        try {
            overrides = Overrides.read(metadata.path("annotations"), template);
        } catch (IllegalArgumentException e) {
            return new Decision.Skip(SkipReason.INVALID_OVERRIDE, e.getMessage());
        }
        Variant variant = template.strategies().get(overrides.strategy());
        List<String> warnings = new ArrayList<>();
        String config;
        try {
            config = agentConfig(variant.config(), overrides, declaredPorts(spec), spec.path("terminationGracePeriodSeconds"), warnings);
        } catch (ConfigException e) {
            return new Decision.Skip(SkipReason.INVALID_OVERRIDE, "the overrides make a config the agent rejects: "
                    + String.join("; ", e.problems()));
        }
        return new Decision.Inject(patch(pod, variant, overrides, config, warnings), overrides.strategy(), overrides.nativeSidecar(),
                spec.path("serviceAccountName").asText("").isEmpty() ? "default" : spec.path("serviceAccountName").asText(),
                warnings);
    }

    private ArrayNode patch(JsonNode pod, Variant variant, Overrides overrides, String config, List<String> warnings) {
        JsonNode spec = pod.path("spec");
        ArrayNode ops = JSON.arrayNode();

        ObjectNode labels = copyObject(pod.path("metadata").path("labels"));
        labels.setAll(variant.podLabels().deepCopy());
        add(ops, "/metadata/labels", labels);

        List<String> kept = new ArrayList<>();
        ArrayNode containers = JSON.arrayNode();
        for (JsonNode c : spec.path("containers")) {
            ObjectNode container = c.deepCopy();
            if (container.path("lifecycle").has("preStop")) {
                kept.add(container.path("name").asText());
            } else {
                ObjectNode lifecycle = container.has("lifecycle") ? (ObjectNode) container.get("lifecycle") : container.putObject("lifecycle");
                lifecycle.set("preStop", variant.preStop().deepCopy());
            }
            containers.add(container);
        }
        boolean ownToken = spec.path("automountServiceAccountToken").isBoolean() && !spec.path("automountServiceAccountToken").asBoolean();
        ObjectNode sidecar = (overrides.nativeSidecar() ? variant.nativeSidecar() : variant.sidecar()).deepCopy();
        if (ownToken) {
            sidecar.withArrayProperty("volumeMounts").addObject().put("name", TOKEN_VOLUME).put("mountPath", TOKEN_PATH).put("readOnly", true);
        }
        if (overrides.nativeSidecar()) {
            ArrayNode init = spec.path("initContainers").isArray() ? (ArrayNode) spec.get("initContainers").deepCopy() : JSON.arrayNode();
            init.add(sidecar);
            add(ops, "/spec/initContainers", init);
        } else {
            containers.add(sidecar);
        }
        add(ops, "/spec/containers", containers);

        ObjectNode annotations = copyObject(pod.path("metadata").path("annotations"));
        annotations.setAll(variant.podAnnotations().deepCopy());
        annotations.put(template.configAnnotation(), config);
        annotations.put(Annotations.INJECTED, "version=" + version + ",strategy=" + overrides.strategy().configName()
                + ",sidecar=" + (overrides.nativeSidecar() ? "native" : "classic"));
        if (!kept.isEmpty()) {
            annotations.put(Annotations.PRESTOP_KEPT, String.join(",", kept));
            warnings.add("lameduck: container(s) " + String.join(", ", kept) + " keep their own preStop; the agent drains on its own SIGTERM"
                    + (overrides.nativeSidecar() ? " (a native sidecar gets it only after the app stopped: use classic mode, "
                            + Annotations.NATIVE + ": \"false\", or call the agent's /prestop from your hook)" : " in parallel"));
        }
        add(ops, "/metadata/annotations", annotations);

        if (!variant.readinessGates().isEmpty()) {
            ArrayNode gates = spec.path("readinessGates").isArray() ? (ArrayNode) spec.get("readinessGates").deepCopy() : JSON.arrayNode();
            Set<String> present = new HashSet<>();
            gates.forEach(g -> present.add(g.path("conditionType").asText()));
            variant.readinessGates().forEach(g -> {
                if (present.add(g.path("conditionType").asText())) {
                    gates.add(g.deepCopy());
                }
            });
            add(ops, "/spec/readinessGates", gates);
        }
        ArrayNode volumes = spec.path("volumes").isArray() ? (ArrayNode) spec.get("volumes").deepCopy() : JSON.arrayNode();
        template.volumes().forEach(v -> volumes.add(v.deepCopy()));
        if (ownToken) {
            volumes.add(tokenVolume());
        }
        add(ops, "/spec/volumes", volumes);
        return ops;
    }

    /**
     * The variant's config with the ports (the annotation's, else those the app declares) and the budget, checked by the
     * agent's own loader.
     */
    static String agentConfig(String base, Overrides overrides, List<Integer> declaredPorts, JsonNode gracePeriod, List<String> warnings)
            throws ConfigException {
        ObjectNode config = readConfig(base);
        Optional<List<Integer>> ports = overrides.ports().or(() -> Optional.of(declaredPorts).filter(p -> !p.isEmpty()));
        ports.ifPresentOrElse(chosen -> {
            ArrayNode list = section(section(config, "drain"), "propagation").putArray("ports");
            chosen.forEach(list::add);
        }, () -> {
            if ("quiet".equals(config.at("/drain/propagation/mode").asText())) {
                warnings.add("lameduck: no app container declares a TCP containerPort, so the drain watches the chart's ports "
                        + config.at("/drain/propagation/ports") + "; declare the app's ports, or set " + Annotations.PORTS + " to them");
            }
        });
        if (overrides.budget().isPresent()) {
            section(config, "drain").put("budget", Durations.format(overrides.budget().get()));
            return checked(config, warnings);
        }
        if (gracePeriod.canConvertToLong() && gracePeriod.asLong() >= MIN_DERIVED_BUDGET_SECONDS) {
            ObjectNode derived = config.deepCopy();
            section(derived, "drain").put("budget", gracePeriod.asLong() + "s");
            try {
                return checked(derived, warnings);
            } catch (ConfigException e) {
                warnings.add("lameduck: drain.budget not derived from terminationGracePeriodSeconds " + gracePeriod.asLong()
                        + " (" + String.join("; ", e.problems()) + "); kept the chart's");
            }
        }
        return checked(config, warnings);
    }

    private static String checked(ObjectNode config, List<String> warnings) throws ConfigException {
        String yaml;
        try {
            yaml = YAML.writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new ConfigException("cannot write the agent config: " + e.getMessage());
        }
        AgentConfig parsed = new ConfigLoader(Map.of()).parse(yaml);
        BudgetCheck.warnings(parsed.drain()).forEach(w -> warnings.add("lameduck: " + w));
        return yaml;
    }

    /** The sidecar's own service-account token, for pods that turn the automounted one off. */
    static final String TOKEN_VOLUME = "lameduck-token";
    /** Where the kubelet mounts the automounted token, and so where the Kubernetes client looks for it. */
    static final String TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

    /** The volumes the injection adds, whose names the pod must not use already. */
    private List<String> volumeNames() {
        List<String> names = new ArrayList<>();
        template.volumes().forEach(v -> names.add(v.path("name").asText()));
        names.add(TOKEN_VOLUME);
        return names;
    }

    /** What the kubelet projects for an automounted token: a bound token (about an hour, rotated), the CA, the namespace. */
    private static ObjectNode tokenVolume() {
        ObjectNode volume = JSON.objectNode().put("name", TOKEN_VOLUME);
        ObjectNode projected = volume.putObject("projected").put("defaultMode", 0644); // as the kubelet projects it
        ArrayNode sources = projected.putArray("sources");
        sources.addObject().putObject("serviceAccountToken").put("path", "token").put("expirationSeconds", 3607);
        ObjectNode ca = sources.addObject().putObject("configMap").put("name", "kube-root-ca.crt");
        ca.putArray("items").addObject().put("key", "ca.crt").put("path", "ca.crt");
        sources.addObject().putObject("downwardAPI").putArray("items").addObject().put("path", "namespace")
                .putObject("fieldRef").put("apiVersion", "v1").put("fieldPath", "metadata.namespace");
        return volume;
    }

    /** The TCP ports the pod's containers declare, in order, once each (the sidecar is not in the pod yet). */
    static List<Integer> declaredPorts(JsonNode spec) {
        Set<Integer> ports = new LinkedHashSet<>();
        for (JsonNode container : spec.path("containers")) {
            for (JsonNode port : container.path("ports")) {
                int number = port.path("containerPort").asInt(0);
                if ("TCP".equals(port.path("protocol").asText("TCP")) && number >= 1 && number <= 65535) {
                    ports.add(number);
                }
            }
        }
        return List.copyOf(ports);
    }

    /** The longest {@link Annotations#SKIPPED} value: a reason with a config's problems can run long. */
    static final int MAX_SKIP_ANNOTATION = 1024;

    /**
     * The patch that records on a skipped pod why it was left without the sidecar, or empty when there is nothing to
     * record: a pod already injected stays exactly as it is.
     */
    static Optional<ArrayNode> skipAnnotation(JsonNode pod, Decision.Skip skip) {
        if (skip.reason() == SkipReason.ALREADY_INJECTED || skip.reason() == SkipReason.NOT_A_POD_CREATE || !pod.isObject()) {
            return Optional.empty();
        }
        String value = skip.reason().label() + ": " + skip.message();
        ObjectNode annotations = copyObject(pod.path("metadata").path("annotations"));
        annotations.put(Annotations.SKIPPED, value.length() > MAX_SKIP_ANNOTATION ? value.substring(0, MAX_SKIP_ANNOTATION - 3) + "..." : value);
        ArrayNode ops = JSON.arrayNode();
        add(ops, "/metadata/annotations", annotations);
        return Optional.of(ops);
    }

    private static ObjectNode readConfig(String yaml) throws ConfigException {
        try {
            JsonNode node = YAML.readTree(yaml);
            if (node instanceof ObjectNode object) {
                return object;
            }
        } catch (JsonProcessingException e) {
            throw new ConfigException("the template's agent config is not YAML: " + e.getOriginalMessage());
        }
        throw new ConfigException("the template's agent config is not a YAML map");
    }

    private static ObjectNode section(ObjectNode parent, String name) {
        return parent.get(name) instanceof ObjectNode child ? child : parent.putObject(name);
    }

    private static ObjectNode copyObject(JsonNode node) {
        return node.isObject() ? ((ObjectNode) node).deepCopy() : JSON.objectNode();
    }

    /** RFC 6902 "add" replaces a member that exists and creates one that does not: one op per touched field. */
    private static void add(ArrayNode ops, String path, JsonNode value) {
        ops.addObject().put("op", "add").put("path", path).set("value", value);
    }

    private static boolean hasNamed(JsonNode list, String name) {
        for (JsonNode item : list) {
            if (name.equals(item.path("name").asText())) {
                return true;
            }
        }
        return false;
    }

    /** The per-pod overrides, read from annotations; invalid values throw with a message for the user. */
    record Overrides(Strategy strategy, boolean nativeSidecar, Optional<List<Integer>> ports, Optional<Duration> budget) {
        static Overrides read(JsonNode annotations, InjectionTemplate template) {
            Strategy strategy = template.defaultStrategy();
            if (annotations.has(Annotations.STRATEGY)) {
                String value = annotations.get(Annotations.STRATEGY).asText();
                try {
                    strategy = Strategy.fromConfigName(value);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(Annotations.STRATEGY + " is \"" + value + "\"; expected readiness-gate, label or probe");
                }
            }
            boolean nativeSidecar = template.defaultNative();
            if (annotations.has(Annotations.NATIVE)) {
                String value = annotations.get(Annotations.NATIVE).asText();
                if (!value.equals("true") && !value.equals("false")) {
                    throw new IllegalArgumentException(Annotations.NATIVE + " is \"" + value + "\"; expected \"true\" or \"false\"");
                }
                nativeSidecar = Boolean.parseBoolean(value);
            }
            Optional<List<Integer>> ports = Optional.empty();
            if (annotations.has(Annotations.PORTS)) {
                ports = Optional.of(ports(annotations.get(Annotations.PORTS).asText()));
            }
            Optional<Duration> budget = Optional.empty();
            if (annotations.has(Annotations.BUDGET)) {
                String value = annotations.get(Annotations.BUDGET).asText();
                budget = Optional.of(Durations.parse(value).filter(d -> !d.isZero()).orElseThrow(() -> new IllegalArgumentException(
                        Annotations.BUDGET + " is \"" + value + "\"; expected " + Durations.FORMAT_HINT + ", more than 0s")));
            }
            return new Overrides(strategy, nativeSidecar, ports, budget);
        }

        private static List<Integer> ports(String value) {
            Set<Integer> ports = new LinkedHashSet<>();
            for (String part : value.split(",", -1)) {
                try {
                    int port = Integer.parseInt(part.strip());
                    if (port < 1 || port > 65535) {
                        throw new NumberFormatException();
                    }
                    ports.add(port);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(Annotations.PORTS + " is \"" + value
                            + "\"; expected comma-separated port numbers 1-65535, e.g. \"8080,8443\"");
                }
            }
            return List.copyOf(ports);
        }
    }
}
