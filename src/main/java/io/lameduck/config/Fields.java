package io.lameduck.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lameduck.time.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Reads typed values out of one YAML mapping, recording every problem with its full path
 * (e.g. {@code drain.hooks[1].timeout}) instead of stopping at the first, so one run shows them all.
 * Getters return the default after recording a problem, so reading can go on.
 */
final class Fields {
    private final JsonNode node;
    private final String path;
    private final List<String> problems;
    private final SchemaRecorder schema;

    Fields(JsonNode node, String path, List<String> problems) {
        this(node, path, problems, SchemaRecorder.NONE);
    }

    /** Reads {@code node}, and records what it reads into {@code schema} (see {@link ConfigSchema}). */
    Fields(JsonNode node, String path, List<String> problems, SchemaRecorder schema) {
        this.node = node == null || node.isNull() ? NullNode.getInstance() : node;
        this.path = path;
        this.problems = problems;
        this.schema = schema;
        if (!this.node.isNull() && !this.node.isObject()) {
            problem(path, this.node, "a mapping of keys to values");
        }
    }

    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        JsonNode value = node.get(key);
        return value != null && !value.isNull();
    }

    /** Records every key not in {@code allowed}; the reader then reads each of them, so the schema names them all. */
    void allowOnly(String... allowed) {
        schema.closed();
        if (!node.isObject()) {
            return;
        }
        Set<String> known = Set.of(allowed);
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!known.contains(name)) {
                problems.add(path(name) + ": unknown key; allowed keys here: " + String.join(", ", new TreeSet<>(known)));
            }
        }
    }

    Fields object(String key) {
        return new Fields(node.get(key), path(key), problems, schema.mapping(key));
    }

    String string(String key, String defaultValue) {
        schema.property(key, SchemaRecorder::text, () -> defaultValue);
        return text(key, defaultValue);
    }

    private String text(String key, String defaultValue) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return defaultValue;
        }
        if (!value.isValueNode() || value.isBoolean()) {
            return problem(path(key), value, "a string", defaultValue);
        }
        return value.asText();
    }

    Optional<String> requiredString(String key) {
        schema.property(key, SchemaRecorder::requiredText, () -> null);
        schema.required(key);
        String value = text(key, null);
        if (value == null || value.isBlank()) {
            if (!problemRecordedFor(path(key))) {
                problems.add(path(key) + ": required, but missing or empty");
            }
            return Optional.empty();
        }
        return Optional.of(value);
    }

    int integer(String key, int defaultValue, int min, int max) {
        schema.property(key, () -> SchemaRecorder.integer(min, max), () -> defaultValue);
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return defaultValue;
        }
        boolean integral = (value.isIntegralNumber() && value.canConvertToInt()) || isIntegerText(value);
        if (!integral) {
            return problem(path(key), value, "a whole number from " + min + " to " + max, defaultValue);
        }
        long number = value.isIntegralNumber() ? value.asLong() : Long.parseLong(value.asText().trim());
        if (number < min || number > max) {
            return problem(path(key), value, "a whole number from " + min + " to " + max, defaultValue);
        }
        return (int) number;
    }

    boolean bool(String key, boolean defaultValue) {
        schema.property(key, SchemaRecorder::bool, () -> defaultValue);
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return defaultValue;
        }
        if (value.isBoolean()) {
            return value.asBoolean();
        }
        String text = value.asText().trim().toLowerCase(Locale.ROOT);
        if (text.equals("true") || text.equals("false")) {
            return Boolean.parseBoolean(text);
        }
        return problem(path(key), value, "true or false", defaultValue);
    }

    /** A duration in {@link Durations.Range#SETTING}; every duration setting is read here. */
    Duration duration(String key, Duration defaultValue) {
        schema.property(key, SchemaRecorder::duration, () -> defaultValue == null ? null : Durations.format(defaultValue));
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return defaultValue;
        }
        Optional<Duration> parsed = value.isValueNode() ? Durations.parse(value.asText()) : Optional.empty();
        if (parsed.isEmpty()) {
            return problem(path(key), value, Durations.FORMAT_HINT, defaultValue);
        }
        if (!Durations.Range.SETTING.contains(parsed.get())) {
            return problem(path(key), value, "a duration " + Durations.Range.SETTING.describe(), defaultValue);
        }
        return parsed.get();
    }

    <E extends Enum<E>> E choice(String key, E defaultValue, Function<E, String> configName, E[] values) {
        schema.property(key, () -> SchemaRecorder.oneOf(Arrays.stream(values).map(configName).toList()), () -> configName.apply(defaultValue));
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return defaultValue;
        }
        for (E candidate : values) {
            if (configName.apply(candidate).equals(value.asText())) {
                return candidate;
            }
        }
        String allowed = String.join(", ", Arrays.stream(values).map(configName).toList());
        return problem(path(key), value, "one of " + allowed, defaultValue);
    }

    <E extends Enum<E>> E choice(String key, E defaultValue, E[] values) {
        return choice(key, defaultValue, e -> e.name().toLowerCase(Locale.ROOT).replace('_', '-'), values);
    }

    /** The items of a list, each of the schema {@code items} and read by {@code reader} with its indexed path. */
    <T> List<T> list(String key, ObjectNode items, ItemReader<T> reader) {
        schema.property(key, () -> SchemaRecorder.list(items), () -> null);
        return items(key, reader);
    }

    private <T> List<T> items(String key, ItemReader<T> reader) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return List.of();
        }
        if (!value.isArray()) {
            return problem(path(key), value, "a list", List.of());
        }
        List<T> items = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            T item = reader.read(value.get(i), path(key) + "[" + i + "]");
            if (item != null) {
                items.add(item);
            }
        }
        return items;
    }

    /**
     * A list of mappings, each read by {@code reader}. The schema records one variant per probe: a mapping of one key
     * (e.g. {@code {type: http}}) that the reader is run on, so each variant holds what the reader reads for that value.
     */
    <T> List<T> mappings(String key, List<ObjectNode> probes, Function<Fields, T> reader) {
        if (schema.recording()) {
            schema.property(key, () -> SchemaRecorder.list(variants(path(key), probes, reader)), () -> null);
            return List.of();
        }
        return items(key, (item, itemPath) -> reader.apply(new Fields(item, itemPath, problems)));
    }

    private <T> ObjectNode variants(String itemsPath, List<ObjectNode> probes, Function<Fields, T> reader) {
        String discriminator = probes.get(0).fieldNames().next();
        ObjectNode items = SchemaRecorder.mapping().schema();
        List<String> values = probes.stream().map(probe -> probe.path(discriminator).asText()).toList();
        items.withObjectProperty("properties").set(discriminator, SchemaRecorder.oneOf(values));
        items.withArrayProperty("required").add(discriminator);
        for (ObjectNode probe : probes) {
            SchemaRecorder variant = SchemaRecorder.mapping();
            reader.apply(new Fields(probe, itemsPath + "[]", new ArrayList<>(), variant));
            String value = probe.path(discriminator).asText();
            variant.property(discriminator, () -> SchemaRecorder.constant(value), () -> null);
            ObjectNode when = items.withArrayProperty("allOf").addObject();
            ObjectNode condition = when.putObject("if");
            condition.putObject("properties").set(discriminator, SchemaRecorder.constant(value));
            condition.putArray("required").add(discriminator);
            when.set("then", variant.schema());
        }
        return items;
    }

    /** Whether {@code key} is given; records {@code why} (e.g. "required; ...") as its problem when it is not. */
    boolean require(String key, String why) {
        schema.required(key);
        if (!has(key)) {
            problems.add(path(key) + ": " + why);
            return false;
        }
        return true;
    }

    List<String> stringList(String key) {
        schema.property(key, SchemaRecorder::textList, () -> null);
        return items(key, (item, itemPath) -> {
            if (!item.isValueNode() || item.isNull()) {
                return problem(itemPath, item, "a string", null);
            }
            return item.asText();
        });
    }

    Map<String, String> stringMap(String key) {
        schema.property(key, SchemaRecorder::textMap, () -> null);
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return Map.of();
        }
        if (!value.isObject()) {
            return problem(path(key), value, "a mapping of names to strings", Map.of());
        }
        Map<String, String> map = new LinkedHashMap<>();
        value.fields().forEachRemaining(entry -> {
            if (!entry.getValue().isValueNode() || entry.getValue().isNull()) {
                problem(path(key) + "." + entry.getKey(), entry.getValue(), "a string", null);
            } else {
                map.put(entry.getKey(), entry.getValue().asText());
            }
        });
        return map;
    }

    void problem(String message) {
        problems.add(message);
    }

    List<String> problems() {
        return problems;
    }

    private boolean problemRecordedFor(String fieldPath) {
        return problems.stream().anyMatch(p -> p.startsWith(fieldPath + ":"));
    }

    private static boolean isIntegerText(JsonNode value) {
        return value.isTextual() && value.asText().trim().matches("-?\\d{1,10}");
    }

    private <T> T problem(String fieldPath, JsonNode value, String allowed, T fallback) {
        problem(fieldPath, value, allowed);
        return fallback;
    }

    private void problem(String fieldPath, JsonNode value, String allowed) {
        problems.add(fieldPath + ": got " + describe(value) + ", expected " + allowed);
    }

    static String describe(JsonNode value) {
        if (value.isTextual()) {
            return "\"" + value.asText() + "\"";
        }
        if (value.isObject()) {
            return "a mapping";
        }
        if (value.isArray()) {
            return "a list";
        }
        return value.toString();
    }

    @FunctionalInterface
    interface ItemReader<T> {
        /** Reads one item; returns null (after recording a problem) when it is unusable. */
        T read(JsonNode item, String itemPath);
    }
}
