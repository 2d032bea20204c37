package io.lameduck.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * The schema is recorded from the loader (ConfigSchema); these check what it records, and that the chart carries the
 * current one. That Helm applies it at install is HelmChartTest's.
 */
class ConfigSchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonNode schema = ConfigSchema.generate();

    @Test
    void theChartCarriesTheSchemaTheLoaderRecords() throws IOException {
        JsonNode chart = JSON.readTree(Path.of("helm/lameduck/values.schema.json").toFile());
        assertThat(chart.at("/properties/config").equals(schema))
                .as("helm/lameduck/values.schema.json's properties.config is out of date: run scripts/generate-config-schema.sh")
                .isTrue();
    }

    @Test
    void everyMappingIsClosedAndNamesEveryKeyTheLoaderAllows() {
        assertThat(schema.at("/additionalProperties").asBoolean(true)).isFalse();
        assertThat(names(schema.at("/properties"))).containsExactly("server", "security", "drain", "metrics", "logging", "kube");
        JsonNode propagation = schema.at("/properties/drain/properties/propagation");
        assertThat(propagation.at("/additionalProperties").asBoolean(true)).isFalse();
        assertThat(names(propagation.at("/properties")))
                .containsExactlyInAnyOrder("mode", "ports", "quietPeriod", "minimum", "maximum", "keepAliveWait", "waitForIngresses", "pollInterval",
                        "ignorePeers");
    }

    @Test
    void recordsTypesChoicesAndDefaultsAsTheLoaderReadsThem() {
        JsonNode port = schema.at("/properties/server/properties/port");
        assertThat(port.at("/minimum").asInt()).isZero();
        assertThat(port.at("/maximum").asInt()).isEqualTo(65535);
        assertThat(port.at("/default").asInt()).isEqualTo(7979);
        JsonNode mode = schema.at("/properties/drain/properties/propagation/properties/mode");
        assertThat(mode.at("/enum")).extracting(JsonNode::asText).containsExactly("fixed", "quiet");
        assertThat(mode.at("/default").asText()).isEqualTo("fixed");
        JsonNode strategy = schema.at("/properties/drain/properties/withdraw/properties/strategy");
        assertThat(strategy.at("/enum")).extracting(JsonNode::asText).contains("readiness-gate", "label", "probe");
        JsonNode budget = schema.at("/properties/drain/properties/budget");
        assertThat(budget.at("/default").asText()).isEqualTo("30s");
        assertThat(budget.at("/pattern").asText()).isNotEmpty();
        assertThat(schema.at("/properties/drain/properties/propagation/properties/ports/items/maximum").asInt()).isEqualTo(65535);
    }

    @Test
    void hooksHaveOneClosedVariantPerTypeWithItsRequiredKeys() {
        JsonNode items = schema.at("/properties/drain/properties/hooks/items");
        assertThat(items.at("/required")).extracting(JsonNode::asText).containsExactly("type");
        assertThat(items.at("/properties/type/enum")).extracting(JsonNode::asText).containsExactlyElementsOf(ConfigLoader.HOOK_TYPES);
        List<String> types = new ArrayList<>();
        for (JsonNode variant : items.at("/allOf")) {
            String type = variant.at("/if/properties/type/const").asText();
            types.add(type);
            JsonNode then = variant.at("/then");
            assertThat(then.at("/additionalProperties").asBoolean(true)).as(type).isFalse();
            assertThat(names(then.at("/properties"))).as(type).contains("name", "type", "at", "priority", "timeout", "onFailure");
            assertThat(then.at("/required")).extracting(JsonNode::asText).as(type).contains("name");
        }
        assertThat(types).containsExactlyElementsOf(ConfigLoader.HOOK_TYPES);
        JsonNode http = items.at("/allOf/0/then");
        assertThat(names(http.at("/properties"))).contains("url", "method", "headers").doesNotContain("command", "duration");
        assertThat(http.at("/required")).extracting(JsonNode::asText).containsExactlyInAnyOrder("name", "url");
        assertThat(items.at("/allOf/1/then/required")).extracting(JsonNode::asText).containsExactlyInAnyOrder("name", "command");
        assertThat(items.at("/allOf/2/then/required")).extracting(JsonNode::asText).containsExactlyInAnyOrder("name", "duration");
        assertThat(items.at("/allOf/3/then/required")).extracting(JsonNode::asText).containsExactlyInAnyOrder("name", "ports");
    }

    @Test
    void recordingTheSchemaLeavesLoadingUnchanged() throws ConfigException {
        // The loader still reports a missing required key with its own words once require() records it for the schema.
        ConfigLoader loader = new ConfigLoader(Map.of());
        assertThatThrownBy(() -> loader.parse("drain: {hooks: [{name: s, type: sleep}]}"))
                .hasMessageContaining("drain.hooks[0].duration: required; how long to sleep");
        assertThat(loader.parse("drain: {hooks: [{name: s, type: sleep, duration: 1s}]}").drain().hooks()).hasSize(1);
    }

    private static List<String> names(JsonNode object) {
        return StreamSupport.stream(((Iterable<String>) object::fieldNames).spliterator(), false).toList();
    }
}
