package io.lameduck.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lameduck.deploy.ChartReadme.Row;
import io.lameduck.testsupport.Command;
import io.lameduck.testsupport.Command.Result;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's README (helm/lameduck/README.md) carries a values table generated from values.yaml by
 * scripts/generate-chart-readme.sh (ChartReadme): the committed table is what the generator writes now; it has a row
 * for every value of values.yaml, with the type and default a real YAML parser (Jackson) reads there, so the
 * generator's own reading of YAML cannot drift; the script runs with nothing but Java; the README's links resolve
 * on GitHub; and .helmignore keeps the README in the package (Artifact Hub shows it).
 */
class ChartReadmeTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path CHART = ROOT.resolve("helm/lameduck");
    private static final Path README = CHART.resolve("README.md");
    private static final Path VALUES = CHART.resolve("values.yaml");
    private static final String RUN_IT = "run scripts/generate-chart-readme.sh";
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern CELL_SEPARATOR = Pattern.compile("(?<!\\\\)\\|");
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    @Test
    void theReadmeCarriesTheTableOfTheCurrentValuesYaml() throws IOException {
        String readme = Files.readString(README);
        assertThat(readme)
                .as("helm/lameduck/README.md is out of date with helm/lameduck/values.yaml: %s", RUN_IT)
                .isEqualTo(ChartReadme.update(readme, Files.readString(VALUES)));
    }

    @Test
    void everyValueOfValuesYamlIsARowWithTheTypeAndDefaultJacksonReads() throws IOException {
        assertRowsMatch(YAML.readTree(VALUES.toFile()), readmeRows(Files.readString(README)),
                "helm/lameduck/README.md's table (" + RUN_IT + ")");
    }

    @Test
    void theScriptWritesTheTableWithJavaAlone(@TempDir Path dir) throws IOException {
        Path output = dir.resolve("README.md");
        Result result = Command.run(List.of(ROOT.resolve("scripts/generate-chart-readme.sh").toString(), output.toString()),
                ROOT, Duration.ofSeconds(120));
        assertThat(result.exit()).as("scripts/generate-chart-readme.sh output:\n%s", result.output()).isZero();
        assertThat(Files.readString(output))
                .isEqualTo(ChartReadme.update(Files.readString(README), Files.readString(VALUES)));
        assertThat(result.output()).contains("wrote the values table of " + output);
    }

    /** The generator's rules, on a values file that uses each of them; Jackson agrees with every type and default. */
    @Test
    void commentsDescribeTheirKeyOrTheirWholeBlock() throws IOException {
        String values = """
                # The file's header: a blank line follows it, so it describes no value.

                # A block.
                #   term  an item,
                #         continued
                #   - {a: 1}
                #
                # A second paragraph with __dunder__, a | pipe, <angle>, *stars* and `code | span`.
                block:
                  plain: text  # after the value
                  undescribed: 1
                  nested:
                    deep: [a, "b # not a comment"]
                  flow: {x: 1, y: {z: true}, url: "http://127.0.0.1:8080/drain"}
                  quoted: 'it''s'
                  float: 1.5
                  empty: {}
                  nothing:
                  script: |
                    line one
                    line two
                lonely: ~
                # Lists are values of their own: the comments inside describe nothing.
                items:
                  - name: first
                    # inside
                    value: 1
                  - plain
                  - [x]
                afterList: "x"
                """;
        List<Row> rows = ChartReadme.rows(values);
        assertThat(rows).containsExactly(
                new Row("block", "object", "", "A block.<br>`term` an item, continued<br>`- {a: 1}`<br><br>A second"
                        + " paragraph with \\_\\_dunder\\_\\_, a \\| pipe, &lt;angle&gt;, \\*stars\\* and `code \\| span`."),
                new Row("block.plain", "string", "\"text\"", "after the value"),
                new Row("block.undescribed", "int", "1", ""),
                new Row("block.nested.deep", "list", "[\"a\",\"b # not a comment\"]", ""),
                new Row("block.flow.x", "int", "1", ""),
                new Row("block.flow.y.z", "bool", "true", ""),
                new Row("block.flow.url", "string", "\"http://127.0.0.1:8080/drain\"", ""),
                new Row("block.quoted", "string", "\"it's\"", ""),
                new Row("block.float", "float", "1.5", ""),
                new Row("block.empty", "object", "{}", ""),
                new Row("block.nothing", "null", "null", ""),
                new Row("block.script", "string", "\"line one\\nline two\\n\"", ""),
                new Row("lonely", "null", "null", ChartReadme.UNDESCRIBED),
                new Row("items", "list", "[{\"name\":\"first\",\"value\":1},\"plain\",[\"x\"]]",
                        "Lists are values of their own: the comments inside describe nothing."),
                new Row("afterList", "string", "\"x\"", ChartReadme.UNDESCRIBED));
        assertRowsMatch(YAML.readTree(values), rows, "the rows of the example");
        String table = ChartReadme.table(values);
        assertThat(table).startsWith("| Key | Type | Default | Description |\n|---|---|---|---|\n")
                .contains("| `block.plain` | string | `\"text\"` | after the value |\n");
        assertThat(readmeRows(ChartReadme.update("intro\n" + ChartReadme.BEGIN + "\n" + ChartReadme.END + "\n", values)))
                .as("the table read back from its Markdown").containsExactlyElementsOf(rows);
    }

    @Test
    void yamlTheGeneratorDoesNotReadStopsItWithTheLine() {
        assertThatThrownBy(() -> ChartReadme.rows("a: 1\nb: &anchor 2\n"))
                .hasMessageContaining("values.yaml line 2: anchors, aliases and tags are not supported");
        assertThatThrownBy(() -> ChartReadme.rows("a:\n  b: 1\n    c: 2\n"))
                .hasMessageContaining("values.yaml line 3: unexpected indentation");
        assertThatThrownBy(() -> ChartReadme.update("no markers\n", "a: 1\n"))
                .hasMessageContaining(ChartReadme.BEGIN).hasMessageContaining(ChartReadme.END);
    }

    @Test
    void theReadmesLinksResolveFromTheChartDirectory() throws IOException {
        String readme = Files.readString(README);
        String introduction = readme.substring(0, readme.indexOf(ChartReadme.BEGIN));
        List<String> links = new ArrayList<>();
        Matcher m = LINK.matcher(introduction);
        while (m.find()) {
            links.add(m.group(1));
        }
        assertThat(links).contains("../../docs/install.md", "../../docs/injection.md");
        for (String link : links) {
            if (link.startsWith("http://") || link.startsWith("https://")) {
                continue;
            }
            String[] fileAndAnchor = link.split("#", 2);
            Path target = CHART.resolve(fileAndAnchor[0]).normalize();
            assertThat(target).as("the link %s of helm/lameduck/README.md", link).isRegularFile();
            if (fileAndAnchor.length == 2) {
                Set<String> anchors = Files.readAllLines(target).stream()
                        .filter(line -> line.startsWith("#"))
                        .map(line -> line.replaceFirst("^#+\\s*", "").toLowerCase().replaceAll("[^a-z0-9 _-]", "").replace(' ', '-'))
                        .collect(Collectors.toSet());
                assertThat(anchors).as("headings of %s (the link %s)", target, link).contains(fileAndAnchor[1]);
            }
        }
    }

    @Test
    void helmPackagesTheReadme() throws IOException {
        Path ignore = CHART.resolve(".helmignore");
        if (!Files.exists(ignore)) {
            return;
        }
        for (String line : Files.readAllLines(ignore)) {
            String pattern = line.strip();
            if (pattern.isEmpty() || pattern.startsWith("#") || pattern.startsWith("!")) {
                continue;
            }
            String glob = pattern.replaceAll("^/|/$", "");
            assertThat(FileSystems.getDefault().getPathMatcher("glob:" + glob).matches(Path.of("README.md")))
                    .as("helm/lameduck/.helmignore's %s drops README.md from the package (Artifact Hub shows it)", pattern)
                    .isFalse();
        }
    }

    /**
     * Every leaf of {@code values} (a scalar, a list, an empty map) is a row with its type and its default as Jackson
     * writes it; every other row is a map with entries, described, with no default.
     */
    private static void assertRowsMatch(JsonNode values, List<Row> rows, String what) {
        Map<String, JsonNode> leaves = new LinkedHashMap<>();
        Map<String, JsonNode> maps = new LinkedHashMap<>();
        collect("", values, leaves, maps);
        Map<String, Row> byKey = new LinkedHashMap<>();
        for (Row row : rows) {
            assertThat(byKey.put(row.key(), row)).as("%s: the key %s has two rows", what, row.key()).isNull();
        }
        Set<String> missing = new TreeSet<>(leaves.keySet());
        missing.removeAll(byKey.keySet());
        assertThat(missing).as("%s: values with no row", what).isEmpty();
        for (Map.Entry<String, JsonNode> leaf : leaves.entrySet()) {
            Row row = byKey.get(leaf.getKey());
            assertThat(row.type()).as("%s: the type of %s", what, leaf.getKey()).isEqualTo(type(leaf.getValue()));
            assertThat(row.defaultJson()).as("%s: the default of %s", what, leaf.getKey()).isEqualTo(leaf.getValue().toString());
        }
        for (Row row : rows) {
            if (!leaves.containsKey(row.key())) {
                assertThat(maps).as("%s: the row %s is no value of values.yaml", what, row.key()).containsKey(row.key());
                assertThat(row.type()).isEqualTo("object");
                assertThat(row.defaultJson()).isEmpty();
                assertThat(row.description()).as("%s: the description of the block %s", what, row.key()).isNotBlank();
            }
        }
    }

    private static void collect(String prefix, JsonNode node, Map<String, JsonNode> leaves, Map<String, JsonNode> maps) {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            String key = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            JsonNode value = field.getValue();
            if (value.isObject() && value.size() > 0) {
                maps.put(key, value);
                collect(key, value, leaves, maps);
            } else {
                leaves.put(key, value);
            }
        }
    }

    private static String type(JsonNode node) {
        if (node.isTextual()) {
            return "string";
        } else if (node.isIntegralNumber()) {
            return "int";
        } else if (node.isFloatingPointNumber()) {
            return "float";
        } else if (node.isBoolean()) {
            return "bool";
        } else if (node.isNull()) {
            return "null";
        } else if (node.isArray()) {
            return "list";
        }
        return "object";
    }

    /** The rows of the Markdown table between the README's markers. */
    private static List<Row> readmeRows(String readme) {
        int begin = readme.indexOf(ChartReadme.BEGIN);
        int end = readme.indexOf(ChartReadme.END);
        assertThat(begin).as("helm/lameduck/README.md has the line %s", ChartReadme.BEGIN).isNotNegative();
        assertThat(end).as("helm/lameduck/README.md has the line %s after the BEGIN line", ChartReadme.END).isGreaterThan(begin);
        List<String> lines = readme.substring(begin + ChartReadme.BEGIN.length(), end).strip().lines().toList();
        assertThat(lines.subList(0, 2)).containsExactly("| Key | Type | Default | Description |", "|---|---|---|---|");
        List<Row> rows = new ArrayList<>();
        for (String line : lines.subList(2, lines.size())) {
            assertThat(line).startsWith("| ").endsWith(" |");
            String[] cells = CELL_SEPARATOR.split(line.substring(1, line.length() - 1), -1);
            assertThat(cells).as("cells of %s", line).hasSize(4);
            rows.add(new Row(unCode(cells[0].strip()), cells[1].strip(), unCode(cells[2].strip()), cells[3].strip()));
        }
        return rows;
    }

    private static String unCode(String cell) {
        String text = cell;
        if (text.startsWith("`` ") && text.endsWith(" ``")) {
            text = text.substring(3, text.length() - 3);
        } else if (text.length() >= 2 && text.startsWith("`") && text.endsWith("`")) {
            text = text.substring(1, text.length() - 1);
        }
        return text.replace("\\|", "|");
    }
}
