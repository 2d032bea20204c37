package io.lameduck.cli;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lameduck.Version;
import io.lameduck.collect.Collector;
import io.lameduck.collect.CollectorServer;
import io.lameduck.config.AgentConfig.LogFormat;
import io.lameduck.config.ConfigException;
import io.lameduck.kube.KubeIntegration;
import io.lameduck.logging.LogSetup;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the fleet collector until SIGTERM (the JVM's shutdown hook writes its state and stops it). */
@Command(name = "collector", mixinStandardHelpOptions = true,
        description = "Run the fleet collector: counts every drain report in the cluster from the agents' Events, keeps the totals "
                + "in a ConfigMap, serves fleet metrics and recent terminations (deployed by the Helm chart with collector.enabled).")
final class CollectorCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CollectorCommand.class);

    @Option(names = "--port", defaultValue = "8080", description = "HTTP port of /metrics, /terminations, /healthz, /readyz (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--state-configmap", required = true, paramLabel = "NAME", converter = KubernetesNames.Subdomain.class,
            description = "ConfigMap the collector keeps its state in (created if missing; never created by the chart).")
    String stateConfigMap;

    @Option(names = "--state-namespace", paramLabel = "NAMESPACE", converter = KubernetesNames.Label.class,
            description = "Namespace of that ConfigMap (default: $POD_NAMESPACE).")
    String stateNamespace;

    @Option(names = "--max-workloads", defaultValue = "1000", paramLabel = "N",
            description = "Workloads with totals of their own; reports of others count under workload _other (default ${DEFAULT-VALUE}, 1-" + Collector.MAX_WORKLOADS + ").")
    int maxWorkloads;

    @Option(names = "--recent", defaultValue = "20", paramLabel = "N",
            description = "Recent terminations kept per workload for /terminations (default ${DEFAULT-VALUE}, 1-1000).")
    int recent;

    @Option(names = "--log-format", paramLabel = "json|text", defaultValue = "json", description = "Log format (default ${DEFAULT-VALUE}).")
    LogFormat logFormat;

    @Override
    public Integer call() throws Exception {
        LogSetup.configure(logFormat == LogFormat.JSON, "info", false);
        if (port < 0 || port > 65535) {
            throw new ConfigException("--port " + port + " is out of range; expected 0-65535");
        }
        if (maxWorkloads < 1 || maxWorkloads > Collector.MAX_WORKLOADS) {
            throw new ConfigException("--max-workloads must be 1-" + Collector.MAX_WORKLOADS + " (every tracked workload's totals live in "
                    + "one ConfigMap of at most 1 MiB; further workloads count under _other); got " + maxWorkloads);
        }
        if (recent < 1 || recent > 1000) {
            throw new ConfigException("--recent must be 1-1000; got " + recent);
        }
        String namespace = stateNamespace != null ? stateNamespace : System.getenv("POD_NAMESPACE");
        if (namespace == null || namespace.isBlank()) {
            throw new ConfigException("no namespace for the state ConfigMap: pass --state-namespace or set POD_NAMESPACE "
                    + "(the chart sets it from the downward API)");
        }
        Config config = KubeIntegration.clientConfig(System.getenv()).orElseThrow(() -> new ConfigException(
                "no Kubernetes API configured: neither KUBERNETES_SERVICE_HOST (set in every pod) nor KUBECONFIG is set"));
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
        PrometheusRegistry registry = new PrometheusRegistry();
        JvmMetrics.builder().register(registry); // its memory, against the bound the chart's limit sets
        Collector collector = Collector.create(client, namespace, stateConfigMap, maxWorkloads, recent, registry);
        CollectorServer server = new CollectorServer(host, port, collector, registry);
        server.start();
        collector.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                collector.close();
                server.stop();
            } catch (Exception e) {
                LOG.warn("stopping the collector: {}", e.toString());
            } finally {
                client.close();
            }
        }, "lameduck-collector-stop"));
        LOG.info("collector {} serving /metrics and /terminations on port {}; state in ConfigMap {}/{}", Version.current(), server.port(),
                namespace, stateConfigMap);
        server.join();
        return 0;
    }
}
