package io.lameduck.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Fuzzes the configuration loader: whatever the YAML and environment, it returns a configuration or throws
 * {@link ConfigException} (exit 3 naming the key), nothing else, within a bounded time. Under plain JUnit (the
 * project's test command) it replays {@code src/test/resources/io/lameduck/config/ConfigLoaderFuzzTestInputs/parse};
 * {@code scripts/fuzz.sh} fuzzes it (JAZZER_FUZZ=1) and adds what it finds there.
 */
class ConfigLoaderFuzzTest {
    private static final Duration PER_INPUT = Duration.ofSeconds(2);

    @org.junit.jupiter.api.BeforeAll
    static void warmUp() throws ConfigException {
        // class loading and Jazzer's instrumentation are paid once, here, not by the first input's time bound
        new ConfigLoader(Map.of()).parse("drain: {budget: 10s, hooks: [{name: a, type: sleep, duration: 1s}]}\n");
    }

    /** Input: the YAML file's bytes; a line {@code #env KEY=VALUE} at the top sets an environment variable. */
    @FuzzTest(maxDuration = "60s")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Map<String, String> env = Map.of();
        if (text.startsWith("#env ") && text.indexOf('\n') > 0 && text.indexOf('=') > 0 && text.indexOf('=') < text.indexOf('\n')) {
            String line = text.substring(5, text.indexOf('\n'));
            env = Map.of(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
        }
        long start = System.nanoTime();
        try {
            AgentConfig config = new ConfigLoader(env).parse(text);
            assertThat(config.drain().budget()).isLessThanOrEqualTo(Duration.ofHours(24));
        } catch (ConfigException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(PER_INPUT);
    }
}
