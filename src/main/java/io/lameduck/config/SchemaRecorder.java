package io.lameduck.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;
import java.util.function.Supplier;

/**
 * The JSON schema of one mapping of the configuration, written down by {@link Fields} as the loader reads it, so the
 * schema cannot drift from the loader ({@link ConfigSchema}). {@link #NONE} writes nothing: the loader reading a real
 * configuration pays nothing for it.
 */
final class SchemaRecorder {
    static final SchemaRecorder NONE = new SchemaRecorder(null);
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    /** Every value {@link Fields#string} accepts: a scalar, but not a boolean. */
    private static final String[] SCALAR_TEXT = {"string", "number"};

    private final ObjectNode schema;

    private SchemaRecorder(ObjectNode schema) {
        this.schema = schema;
    }

    /** A recorder for a mapping, starting empty. */
    static SchemaRecorder mapping() {
        ObjectNode schema = JSON.objectNode();
        schema.put("type", "object");
        return new SchemaRecorder(schema);
    }

    boolean recording() {
        return schema != null;
    }

    /** The schema recorded so far; only for a recording recorder. */
    ObjectNode schema() {
        return schema;
    }

    /**
     * Records {@code key} with its schema and, when not null, its default. Both are built only when recording: the loader
     * reading a real configuration at start-up builds none of them.
     */
    void property(String key, Supplier<ObjectNode> schemaOfKey, Supplier<Object> defaultOfKey) {
        if (schema == null) {
            return;
        }
        ObjectNode propertySchema = schemaOfKey.get();
        Object defaultValue = defaultOfKey.get();
        if (defaultValue != null && !isRequired(key)) { // a required key's fallback is no default
            if (defaultValue instanceof Integer number) {
                propertySchema.put("default", number);
            } else if (defaultValue instanceof Boolean flag) {
                propertySchema.put("default", flag);
            } else {
                propertySchema.put("default", defaultValue.toString());
            }
        }
        schema.withObjectProperty("properties").set(key, propertySchema);
    }

    /** The recorder of the mapping under {@code key}. */
    SchemaRecorder mapping(String key) {
        if (schema == null) {
            return NONE;
        }
        SchemaRecorder child = mapping();
        schema.withObjectProperty("properties").set(key, child.schema);
        return child;
    }

    /** No other keys than those read may appear ({@link Fields#allowOnly} reads every key it allows). */
    void closed() {
        if (schema != null) {
            schema.put("additionalProperties", false);
        }
    }

    void required(String key) {
        if (schema != null && !isRequired(key)) {
            schema.withArrayProperty("required").add(key);
        }
    }

    private boolean isRequired(String key) {
        for (var required : schema.path("required")) {
            if (required.asText().equals(key)) {
                return true;
            }
        }
        return false;
    }

    static ObjectNode text() {
        return types(SCALAR_TEXT);
    }

    /** Non-blank text. */
    static ObjectNode requiredText() {
        return text().put("pattern", "\\S");
    }

    /** A whole number, or its digits as text (environment overrides are text). */
    static ObjectNode integer(int min, int max) {
        return types("integer", "string").put("minimum", min).put("maximum", max).put("pattern", "^\\s*-?\\d{1,10}\\s*$");
    }

    /** A whole number only, not as text. */
    static ObjectNode wholeNumber(int min, int max) {
        return types("integer").put("minimum", min).put("maximum", max);
    }

    /** true or false, or either as text in any case. */
    static ObjectNode bool() {
        return types("boolean", "string").put("pattern", "^\\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\\s*$");
    }

    /** A duration as {@link io.lameduck.time.Durations#parse} reads it (0, or number-unit parts); its range only the loader checks. */
    static ObjectNode duration() {
        return types("string", "integer").put("pattern", "^\\s*(0|(\\d+(\\.\\d+)?(ms|s|m|h))+)\\s*$").put("maxLength", 64)
                .put("minimum", 0).put("maximum", 0);
    }

    static ObjectNode oneOf(Collection<String> values) {
        ObjectNode schema = JSON.objectNode();
        values.forEach(schema.withArrayProperty("enum")::add);
        return schema;
    }

    static ObjectNode constant(String value) {
        return JSON.objectNode().put("const", value);
    }

    static ObjectNode list(ObjectNode items) {
        ObjectNode schema = types("array");
        schema.set("items", items);
        return schema;
    }

    /** A list of scalars, each read as text. */
    static ObjectNode textList() {
        return list(types("string", "number", "boolean"));
    }

    /** A mapping of names to scalars, each read as text. */
    static ObjectNode textMap() {
        ObjectNode schema = types("object");
        schema.set("additionalProperties", types("string", "number", "boolean"));
        return schema;
    }

    private static ObjectNode types(String... types) {
        ObjectNode schema = JSON.objectNode();
        if (types.length == 1) {
            schema.put("type", types[0]);
        } else {
            ArrayNode array = schema.putArray("type");
            for (String type : types) {
                array.add(type);
            }
        }
        return schema;
    }
}
