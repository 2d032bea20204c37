package io.lameduck.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The configuration reference (docs/configuration.md) cannot drift from the loader: every key the schema records
 * (ConfigSchema, recorded from the loader itself) is a row of one of the page's key tables, every row names a key the
 * schema has, and each row's default, whether it is required and (for a hook key) the hook types that take it match
 * the schema.
 *
 * <p>A key table is a Markdown table whose first header cell is {@code Key}; its first column is the key path in
 * backticks ({@code drain.propagation.keepAliveWait}; a hook key as {@code drain.hooks[].url}). The hook table has a
 * "Hook types" column: {@code all}, or the types in backticks. The Default column says {@code required}, the default
 * in backticks, {@code = `other key`} for a default taken from another key, or anything else (such as {@code none})
 * for a key without one.
 */
class ConfigReferenceTest {
    private static final Path REFERENCE = Path.of("docs/configuration.md");
    private static final String HOOKS = "drain.hooks";
    private static final Pattern KEY_CELL = Pattern.compile("^`([^`]+)`$");
    private static final Pattern BACKTICKED = Pattern.compile("`([^`]+)`");

    private final JsonNode schema = ConfigSchema.generate();
    private final Map<String, SchemaKey> schemaKeys = schemaKeys(schema);

    @Test
    void everyKeyTheLoaderReadsIsInTheReference() throws IOException {
        Map<String, Row> rows = referenceRows();
        Set<String> missing = new TreeSet<>(schemaKeys.keySet());
        missing.removeAll(rows.keySet());
        assertThat(missing)
                .as("keys the loader reads (ConfigSchema) that no key table of %s names; add a row for each", REFERENCE)
                .isEmpty();
    }

    @Test
    void everyKeyTheReferenceNamesIsOneTheLoaderReads() throws IOException {
        Set<String> unknown = new TreeSet<>(referenceRows().keySet());
        unknown.removeAll(schemaKeys.keySet());
        assertThat(unknown)
                .as("keys in %s's tables that the loader does not read (ConfigSchema); rename or remove those rows", REFERENCE)
                .isEmpty();
    }

    @Test
    void defaultsAndRequiredKeysAreTheLoaders() throws IOException {
        List<String> wrong = new ArrayList<>();
        referenceRows().forEach((path, row) -> {
            SchemaKey key = schemaKeys.get(path);
            if (key == null) {
                return; // everyKeyTheReferenceNamesIsOneTheLoaderReads says so
            }
            boolean saysRequired = row.defaultCell().equalsIgnoreCase("required");
            if (saysRequired != key.required()) {
                wrong.add(path + ": the loader has it " + (key.required() ? "required" : "optional")
                        + ", the table's Default says \"" + row.defaultCell() + "\"");
            }
            if (row.defaultCell().startsWith("=")) {
                return; // the default is another key's value
            }
            for (String value : key.defaults()) {
                if (!value.isEmpty() && !backticked(row.defaultCell()).contains(value)) {
                    wrong.add(path + ": the loader's default is `" + value + "`, the table's Default says \"" + row.defaultCell() + "\"");
                }
            }
        });
        assertThat(wrong).as("rows of %s that disagree with the loader (ConfigSchema)", REFERENCE).isEmpty();
    }

    @Test
    void eachHookKeyNamesTheHookTypesThatTakeIt() throws IOException {
        List<String> wrong = new ArrayList<>();
        Set<String> allTypes = new LinkedHashSet<>(ConfigLoader.HOOK_TYPES);
        referenceRows().forEach((path, row) -> {
            SchemaKey key = schemaKeys.get(path);
            if (key == null || !path.startsWith(HOOKS + "[].")) {
                return;
            }
            if (row.hookTypesCell() == null) {
                wrong.add(path + ": its table has no \"Hook types\" column");
                return;
            }
            Set<String> named = row.hookTypesCell().equalsIgnoreCase("all") ? allTypes : backticked(row.hookTypesCell());
            if (!named.equals(key.hookTypes())) {
                wrong.add(path + ": taken by " + key.hookTypes() + ", the table says " + named);
            }
        });
        assertThat(wrong).as("hook keys of %s whose \"Hook types\" disagree with the loader (ConfigSchema)", REFERENCE).isEmpty();
    }

    @Test
    void theWalkSeesTheWholeSchema() {
        // Guards the walk itself: a schema shape it did not follow would leave keys out of both directions above.
        assertThat(schemaKeys).containsKeys("server.port", "drain.propagation.keepAliveWait", "drain.withdraw.lastServingEndpoint",
                HOOKS, HOOKS + "[].name", HOOKS + "[].url", HOOKS + "[].command", HOOKS + "[].duration", HOOKS + "[].ignorePeers",
                "kube.maintenanceAnnotation");
        assertThat(schemaKeys).doesNotContainKeys("server", "drain", "drain.propagation");
        assertThat(schemaKeys.get(HOOKS + "[].url").hookTypes()).containsExactly("http");
        assertThat(schemaKeys.get(HOOKS + "[].timeout").hookTypes()).containsExactlyElementsOf(ConfigLoader.HOOK_TYPES);
        assertThat(schemaKeys.get(HOOKS + "[].type").required()).isTrue();
        assertThat(schemaKeys.get(HOOKS + "[].name").required()).isTrue();
        assertThat(schemaKeys.get(HOOKS + "[].at").required()).isFalse();
    }

    /** A key the schema records: its defaults (one per hook variant that has it), required or not, the hook types. */
    private record SchemaKey(Set<String> defaults, boolean required, Set<String> hookTypes) {}

    private record Row(String defaultCell, String hookTypesCell) {}

    /** Every key path of the schema: leaves of nested mappings, and for the hook list each key of each type's variant. */
    private static Map<String, SchemaKey> schemaKeys(JsonNode schema) {
        Map<String, SchemaKey> keys = new LinkedHashMap<>();
        walk(schema, "", keys);
        return keys;
    }

    private static void walk(JsonNode mapping, String prefix, Map<String, SchemaKey> keys) {
        Set<String> required = texts(mapping.path("required"));
        mapping.path("properties").properties().forEach(entry -> {
            String path = prefix + entry.getKey();
            JsonNode property = entry.getValue();
            if (property.has("properties")) {
                walk(property, path + ".", keys);
                return;
            }
            keys.put(path, new SchemaKey(defaults(property), required.contains(entry.getKey()), Set.of()));
            JsonNode items = property.path("items");
            if (items.has("allOf")) {
                hookKeys(items, path + "[].", keys);
            }
        });
    }

    /** The keys of a list whose items have one variant per type: {@code items.allOf[*].then.properties}. */
    private static void hookKeys(JsonNode items, String prefix, Map<String, SchemaKey> keys) {
        Set<String> requiredForAll = texts(items.path("required"));
        Map<String, Set<String>> defaults = new LinkedHashMap<>();
        Map<String, Set<String>> types = new LinkedHashMap<>();
        Map<String, Boolean> required = new LinkedHashMap<>();
        for (JsonNode variant : items.path("allOf")) {
            String type = variant.at("/if/properties/type/const").asText();
            assertThat(type).as("a hook variant without its type (if.properties.type.const)").isNotEmpty();
            JsonNode then = variant.path("then");
            Set<String> variantRequired = texts(then.path("required"));
            then.path("properties").properties().forEach(entry -> {
                String key = entry.getKey();
                defaults.computeIfAbsent(key, k -> new LinkedHashSet<>()).addAll(defaults(entry.getValue()));
                types.computeIfAbsent(key, k -> new LinkedHashSet<>()).add(type);
                boolean isRequired = requiredForAll.contains(key) || variantRequired.contains(key);
                required.merge(key, isRequired, Boolean::logicalAnd);
            });
        }
        types.forEach((key, keyTypes) -> keys.put(prefix + key, new SchemaKey(defaults.get(key), required.get(key), keyTypes)));
    }

    private static Set<String> defaults(JsonNode property) {
        return property.has("default") ? Set.of(property.get("default").asText()) : Set.of();
    }

    private static Set<String> texts(JsonNode array) {
        Set<String> texts = new LinkedHashSet<>();
        array.forEach(item -> texts.add(item.asText()));
        return texts;
    }

    /** The rows of every key table of the reference, by key path. */
    private static Map<String, Row> referenceRows() throws IOException {
        Map<String, Row> rows = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(REFERENCE);
        for (int i = 0; i < lines.size(); i++) {
            List<String> header = cells(lines.get(i));
            if (header.isEmpty() || !header.get(0).equals("Key")) {
                continue;
            }
            int defaultColumn = header.indexOf("Default");
            int hookTypesColumn = header.indexOf("Hook types");
            assertThat(defaultColumn).as("%s line %d: a key table without a Default column", REFERENCE, i + 1).isPositive();
            for (i += 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
                List<String> row = cells(lines.get(i));
                Matcher key = KEY_CELL.matcher(row.get(0));
                assertThat(key.matches()).as("%s line %d: the first cell is not one key in backticks: %s", REFERENCE, i + 1, row.get(0))
                        .isTrue();
                Row previous = rows.put(key.group(1), new Row(row.get(defaultColumn),
                        hookTypesColumn < 0 ? null : row.get(hookTypesColumn)));
                assertThat(previous).as("%s line %d: %s has a row already", REFERENCE, i + 1, key.group(1)).isNull();
            }
        }
        assertThat(rows).as("no key table (a table whose first header cell is Key) in %s", REFERENCE).isNotEmpty();
        return rows;
    }

    /** The cells of a Markdown table row; empty for a line that is not one. */
    private static List<String> cells(String line) {
        String trimmed = line.trim();
        if (!trimmed.startsWith("|") || !trimmed.endsWith("|") || trimmed.length() < 2) {
            return List.of();
        }
        return Arrays.stream(trimmed.substring(1, trimmed.length() - 1).split("\\|", -1)).map(String::trim)
                .collect(Collectors.toList());
    }

    private static Set<String> backticked(String text) {
        Set<String> values = new LinkedHashSet<>();
        Matcher matcher = BACKTICKED.matcher(text);
        while (matcher.find()) {
            values.add(matcher.group(1));
        }
        return values;
    }
}
