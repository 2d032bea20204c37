package io.lameduck.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class HttpPathCardinalityTest {
    private static final Pattern PATH_LABEL = Pattern.compile("path=\"([^\"]*)\"");
    private static final String[] KNOWN = {"/livez", "/healthz", "/readyz", "/status", "/maintenance", "/prestop", "/metrics"};

    @Test
    void fiveThousandRandomPathsYieldAtMostEightPathLabelValues() {
        AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry(), "test", false);
        Random random = new Random(42);
        for (int i = 0; i < 5000; i++) {
            String path = random.nextInt(4) == 0 ? KNOWN[random.nextInt(KNOWN.length)] + randomSuffix(random)
                    : "/" + Long.toHexString(random.nextLong()) + "/" + i;
            metrics.recordHttpRequest(path, 200 + random.nextInt(4) * 100, Duration.ofMillis(random.nextInt(50)));
        }

        Set<String> paths = metrics.scrapeText().lines()
                .filter(line -> line.startsWith("lameduck_http_"))
                .map(PATH_LABEL::matcher)
                .filter(Matcher::find)
                .map(m -> m.group(1))
                .collect(Collectors.toSet());
        assertThat(paths).hasSizeLessThanOrEqualTo(8).contains("other").isSubsetOf(
                "/livez", "/healthz", "/readyz", "/status", "/maintenance", "/prestop", "/metrics", "other");
    }

    /** Half the known-path requests are exact; the rest carry a suffix and must count as "other". */
    private static String randomSuffix(Random random) {
        return random.nextBoolean() ? "" : "/" + random.nextInt(1000);
    }
}
