package io.lameduck.config;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Map;

/**
 * The JSON schema of the agent configuration, recorded by running the loader's own reading code over an empty
 * configuration (and one probe hook of each type): the loader is the one source of truth, and the chart's
 * {@code values.schema.json} carries this schema under {@code config} so that {@code helm install} rejects a typo
 * before it crash-loops every sidecar (scripts/generate-config-schema.sh writes it; ConfigSchemaTest checks it).
 *
 * <p>It checks names, types, choices and formats; what spans several settings (the safety margin within the budget,
 * the minimum within the maximum, a URL's form) only the loader checks: {@code lameduck validate}.
 */
public final class ConfigSchema {
    private ConfigSchema() {}

    public static ObjectNode generate() {
        SchemaRecorder root = SchemaRecorder.mapping();
        new ConfigLoader(Map.of()).read(new Fields(JsonNodeFactory.instance.objectNode(), "", new ArrayList<>(), root));
        ObjectNode schema = JsonNodeFactory.instance.objectNode();
        schema.put("description", "The agent configuration (docs/configuration.md); generated from its loader by "
                + "scripts/generate-config-schema.sh. `lameduck validate` checks what a schema cannot.");
        schema.setAll(root.schema());
        return schema;
    }
}
