package io.lameduck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lameduck.collect.CollectorServer;
import io.lameduck.http.Json;
import io.lameduck.kube.KubeIntegration;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lameduck terminations}: the recent terminations the fleet collector counted, asked through the API server's
 * service proxy (so it needs only a kubeconfig allowed {@code get services/proxy} on the collector's Service), printed
 * as a table or the collector's JSON.
 */
@Command(name = "terminations", mixinStandardHelpOptions = true,
        description = "List recent pod terminations (drains) the fleet collector counted, newest first, through the API server's service proxy.")
final class TerminationsCommand implements Callable<Integer> {
    @Option(names = {"-n", "--namespace"}, paramLabel = "NAMESPACE", converter = KubernetesNames.Label.class,
            description = "Only this namespace's workloads.")
    String namespace;

    @Option(names = {"-w", "--workload"}, paramLabel = "NAME", converter = KubernetesNames.Subdomain.class,
            description = "Only this workload (the Deployment, StatefulSet, ... name).")
    String workload;

    @Option(names = "--limit", defaultValue = "" + CollectorServer.DEFAULT_LIMIT, paramLabel = "N",
            description = "At most this many (default ${DEFAULT-VALUE}, at most " + CollectorServer.MAX_LIMIT + ").")
    int limit;

    @Option(names = "--collector-namespace", defaultValue = "lameduck", paramLabel = "NAMESPACE", converter = KubernetesNames.Label.class,
            description = "Where the collector runs (the chart's release namespace; default ${DEFAULT-VALUE}).")
    String collectorNamespace;

    @Option(names = "--collector-service", defaultValue = "lameduck-collector", paramLabel = "NAME", converter = KubernetesNames.Label.class,
            description = "The collector's Service (<release fullname>-collector; default ${DEFAULT-VALUE}).")
    String collectorService;

    @Option(names = {"-o", "--output"}, defaultValue = "table", paramLabel = "table|json", description = "Output format (default ${DEFAULT-VALUE}).")
    String output;

    @Option(names = "--timeout", defaultValue = "10", paramLabel = "SECONDS", description = "Give up after this long (default ${DEFAULT-VALUE}, 1-300).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (limit < 1 || limit > CollectorServer.MAX_LIMIT || timeoutSeconds < 1 || timeoutSeconds > 300
                || !List.of("table", "json").contains(output)) {
            throw new io.lameduck.config.ConfigException("--limit must be 1-" + CollectorServer.MAX_LIMIT
                    + ", --timeout 1-300 and --output table or json; got " + limit + ", " + timeoutSeconds + ", " + output);
        }
        Config base = KubeIntegration.clientConfig(System.getenv()).orElseThrow(() -> new CollectorUnreachableException(
                "no Kubernetes API configured: set KUBECONFIG (or run in a pod)"));
        Config config = new ConfigBuilder(base).withRequestTimeout(timeoutSeconds * 1000).withConnectionTimeout(timeoutSeconds * 1000)
                .withRequestRetryBackoffLimit(0).build();
        String body;
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
            body = client.raw(path());
        } catch (KubernetesClientException e) {
            throw new CollectorUnreachableException("the collector did not answer through the API server (" + e.getMessage() + "). Check: "
                    + "kubectl -n " + collectorNamespace + " get service,pods -l app.kubernetes.io/component=collector; pass "
                    + "--collector-namespace and --collector-service if the release is named otherwise");
        }
        if (body == null) {
            throw new CollectorUnreachableException("no Service " + collectorNamespace + "/" + collectorService + ": is the collector "
                    + "installed (collector.enabled in the chart)? Pass --collector-namespace and --collector-service if the release is named otherwise");
        }
        if (output.equals("json")) {
            System.out.println(body.strip());
        } else {
            System.out.print(table(body));
        }
        return 0;
    }

    String path() {
        StringBuilder query = new StringBuilder("limit=").append(limit);
        if (namespace != null) {
            query.append("&namespace=").append(URLEncoder.encode(namespace, StandardCharsets.UTF_8));
        }
        if (workload != null) {
            query.append("&workload=").append(URLEncoder.encode(workload, StandardCharsets.UTF_8));
        }
        return "/api/v1/namespaces/" + collectorNamespace + "/services/http:" + collectorService + ":http/proxy/terminations?" + query;
    }

    /** The collector's JSON as a table, one termination per line. */
    static String table(String json) throws CollectorUnreachableException {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new CollectorUnreachableException("the collector's answer is not JSON: " + e.getMessage());
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"TIME", "NAMESPACE", "WORKLOAD", "POD", "TRIGGER", "OUTCOME", "DRAIN", "WITHDRAWN", "TRAFFIC"});
        for (JsonNode t : root.path("terminations")) {
            JsonNode w = t.path("workload");
            rows.add(new String[] {t.path("finishedAt").asText(), w.path("namespace").asText(),
                    w.path("kind").asText().toLowerCase(Locale.ROOT) + "/" + w.path("name").asText(), t.path("pod").asText("-"),
                    t.path("trigger").asText(), t.path("outcome").asText(), String.format(Locale.ROOT, "%.1fs", t.path("durationSeconds").asDouble()),
                    t.path("withdrawalConfirmed").asBoolean() ? "confirmed" : "NOT CONFIRMED",
                    !t.has("trafficStopped") ? "-" : t.path("trafficStopped").asBoolean() ? "stopped" : "STILL ARRIVING"});
        }
        if (rows.size() == 1) {
            return "no terminations recorded" + (root.path("count").isNumber() ? "" : " (unexpected answer)") + "\n";
        }
        int[] widths = new int[rows.get(0).length];
        rows.forEach(r -> {
            for (int i = 0; i < r.length; i++) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        });
        StringBuilder out = new StringBuilder();
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                out.append(i == r.length - 1 ? r[i] : String.format("%-" + (widths[i] + 2) + "s", r[i]));
            }
            out.append('\n');
        }
        return out.toString();
    }
}
