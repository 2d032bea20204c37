package io.lameduck.deploy;

import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lameduck.collect.Collector;
import io.lameduck.inject.InjectorMetrics;
import io.lameduck.metrics.AgentMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names the chart's dashboard and alerts may use: those Lameduck exports (the agent's, the injector's, the
 * fleet collector's, built into one registry and scraped) and a few of Prometheus', the API server's and the kubelet's.
 */
final class MetricNames {
    /** Metrics the dashboard and the alerts name that Lameduck does not export. */
    static final Set<String> EXTERNAL = Set.of(
            "up",                                           // Prometheus: the scrape of a target
            "apiserver_admission_webhook_fail_open_count",  // the API server: webhook calls that failed open
            "apiserver_admission_webhook_rejection_count",  // the API server: requests refused, failed calls included
            "container_memory_working_set_bytes");          // the kubelet's cAdvisor
    private static final Pattern TOKEN = Pattern.compile("\\b([a-zA-Z_:][a-zA-Z0-9_:]*)\\b(\\s*\\()?");
    private static final List<String> KEYWORDS = List.of("and", "or", "unless", "offset", "bool", "inf", "nan");

    private MetricNames() {}

    /** The sample names a scrape can contain, from the metric snapshots of a registry holding every Lameduck metric. */
    static Set<String> exported() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        new AgentMetrics(registry, "test", false);
        // KubeMetrics is package-private in io.lameduck.kube (the agent builds it there); build it as the agent does.
        Constructor<?> kube = Class.forName("io.lameduck.kube.KubeMetrics").getDeclaredConstructor(PrometheusRegistry.class);
        kube.setAccessible(true);
        kube.newInstance(registry);
        new InjectorMetrics(registry);
        // The certificate reloads counter is registered by the injector's CertificateReloader (package-private too).
        Method reloads = InjectorMetrics.class.getDeclaredMethod("certificateReloads", PrometheusRegistry.class);
        reloads.setAccessible(true);
        reloads.invoke(null, registry);
        // The collector registers its own metrics and the fleet's (read from its ledger at each scrape); building it
        // connects to nothing.
        try (KubernetesClient client = new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder().withMasterUrl("https://127.0.0.1:1").build()).build()) {
            Collector.create(client, "lameduck", "lameduck-collector-state", 10, 1, registry);
        }
        Set<String> names = new TreeSet<>();
        for (MetricSnapshot snapshot : registry.scrape()) {
            String name = snapshot.getMetadata().getPrometheusName();
            if (snapshot instanceof CounterSnapshot) {
                names.add(name + "_total");
            } else if (snapshot instanceof HistogramSnapshot) {
                names.addAll(List.of(name + "_bucket", name + "_sum", name + "_count"));
            } else if (snapshot instanceof InfoSnapshot) {
                names.add(name + "_info");
            } else {
                names.add(name);
            }
        }
        return names;
    }

    /**
     * The metric names of a PromQL expression: what is left once strings, label matchers, ranges, grouping clauses,
     * function calls, keywords and numbers are taken out.
     */
    static List<String> in(String expr) {
        String bare = expr.replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"")
                .replaceAll("\\{[^}]*\\}", " ")
                .replaceAll("\\[[^\\]]*\\]", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
        List<String> names = new ArrayList<>();
        Matcher m = TOKEN.matcher(bare);
        while (m.find()) {
            if (m.group(2) == null && !KEYWORDS.contains(m.group(1).toLowerCase(Locale.ROOT))) {
                names.add(m.group(1));
            }
        }
        return names;
    }
}
