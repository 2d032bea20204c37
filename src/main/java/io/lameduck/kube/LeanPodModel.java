package io.lameduck.kube;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.TypeFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodReadinessGate;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The agent's pod, read with typed fields only where the agent looks. Read in full, a {@code Pod} makes Jackson build
 * deserializers for the whole {@code PodSpec} graph (volumes of thirty kinds, affinity, probes, security contexts,
 * ...): about 400 classes and 4 MiB of live heap the agent keeps for the life of the pod, and a tenth of its CPU to
 * READY, for fields it never reads. Here {@link PodSpec} and {@link Container} set only the properties the agent
 * reads as typed values; every other property is kept, as plain JSON values (maps, lists, strings, numbers), in the
 * object's {@code additionalProperties}, so nothing is lost: the object serializes back to the JSON it was read from.
 * {@code metadata} and {@code status} are read in full (the restart cycles follow the container states).
 *
 * <p>Only the agent's own client uses it ({@link KubeIntegration#connect}); the injector and {@code check} read
 * whole pods.
 */
final class LeanPodModel {
    private LeanPodModel() {}

    /**
     * A serialization for the agent's client: fabric8's, with the lean PodSpec and Container, and without its map of
     * kinds to classes. fabric8 builds that map by loading and instantiating every class the jar's service files name
     * (128 of them after the shade plugin's trim, see pom.xml), for reading a resource whose class the call does not
     * give. The agent's calls all give it (typed reads, lists and watches): a kind without a mapping is read as a
     * {@code GenericKubernetesResource} and converted to the class asked for, so nothing else changes. The injector,
     * the collector and {@code check} keep fabric8's default.
     */
    static KubernetesSerialization serialization() {
        ObjectMapper mapper = new ObjectMapper();
        mapper.registerModule(module());
        return new KubernetesSerialization(mapper, false);
    }

    /**
     * PodSpec: the containers (a native sidecar is an init container with {@code restartPolicy: Always}), the
     * readiness gates and the grace period; Container: its name and restart policy.
     */
    private static SimpleModule module() {
        TypeFactory types = TypeFactory.defaultInstance();
        JavaType containers = types.constructType(new TypeReference<List<Container>>() {});
        JavaType gates = types.constructType(new TypeReference<List<PodReadinessGate>>() {});
        JavaType string = types.constructType(String.class);
        JavaType seconds = types.constructType(Long.class);
        @SuppressWarnings("unchecked")
        ReadFieldsOnly<PodSpec> spec = new ReadFieldsOnly<>(PodSpec.class, PodSpec::new, Map.of(
                "initContainers", new Typed<>(containers, (s, v) -> s.setInitContainers((List<Container>) v)),
                "containers", new Typed<>(containers, (s, v) -> s.setContainers((List<Container>) v)),
                "readinessGates", new Typed<>(gates, (s, v) -> s.setReadinessGates((List<PodReadinessGate>) v)),
                "terminationGracePeriodSeconds", new Typed<>(seconds, (s, v) -> s.setTerminationGracePeriodSeconds((Long) v))),
                PodSpec::setAdditionalProperty);
        ReadFieldsOnly<Container> container = new ReadFieldsOnly<>(Container.class, Container::new, Map.of(
                "name", new Typed<>(string, (c, v) -> c.setName((String) v)),
                "restartPolicy", new Typed<>(string, (c, v) -> c.setRestartPolicy((String) v))),
                Container::setAdditionalProperty);
        return new SimpleModule("lameduck-lean-pod").addDeserializer(PodSpec.class, spec).addDeserializer(Container.class, container);
    }

    /** One property read as a typed value, and how it is set. */
    record Typed<T>(JavaType type, BiConsumer<T, Object> setter) {}

    /** Reads an object: the properties in {@code typed} as their types, every other one as a plain JSON value. */
    static final class ReadFieldsOnly<T> extends StdDeserializer<T> {
        private static final long serialVersionUID = 1L;
        private final transient Supplier<T> create;
        private final transient Map<String, Typed<T>> typed;
        private final transient Additional<T> additional;

        interface Additional<T> {
            void set(T target, String name, Object value);
        }

        ReadFieldsOnly(Class<T> type, Supplier<T> create, Map<String, Typed<T>> typed, Additional<T> additional) {
            super(type);
            this.create = create;
            this.typed = typed;
            this.additional = additional;
        }

        @Override
        public T deserialize(JsonParser parser, DeserializationContext context) throws IOException {
            JsonNode tree = parser.readValueAsTree();
            if (!(tree instanceof ObjectNode object)) {
                return context.reportInputMismatch(this, "expected a JSON object for %s, got %s", handledType().getSimpleName(),
                        tree == null ? "nothing" : tree.getNodeType());
            }
            T target = create.get();
            for (Iterator<Map.Entry<String, JsonNode>> fields = object.fields(); fields.hasNext(); ) {
                Map.Entry<String, JsonNode> field = fields.next();
                Typed<T> property = typed.get(field.getKey());
                if (property == null) {
                    additional.set(target, field.getKey(), context.readTreeAsValue(field.getValue(), Object.class));
                } else if (!field.getValue().isNull()) {
                    property.setter().accept(target, context.readTreeAsValue(field.getValue(), property.type()));
                }
            }
            return target;
        }
    }
}
