package io.lameduck.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lameduck.Version;
import io.lameduck.config.AgentConfig.LogFormat;
import io.lameduck.config.ConfigException;
import io.lameduck.inject.AdmissionHandler;
import io.lameduck.inject.AgentRoleBinder;
import io.lameduck.inject.InjectionTemplate;
import io.lameduck.inject.InjectorMetrics;
import io.lameduck.inject.InjectorServer;
import io.lameduck.inject.KubeAgentRoleBinder;
import io.lameduck.inject.PodInjector;
import io.lameduck.logging.LogSetup;
import io.lameduck.time.TimeSource;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the injection webhook until SIGTERM (the JVM's shutdown hook keeps it answering for the shutdown delay, then stops it). */
@Command(name = "injector", mixinStandardHelpOptions = true,
        description = "Run the mutating admission webhook that adds the agent to pods (deployed by the Helm chart with injector.enabled).")
final class InjectorCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(InjectorCommand.class);

    @Option(names = "--port", defaultValue = "8443", description = "HTTPS port of POST /mutate (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--metrics-port", defaultValue = "9090", description = "Plain HTTP port of /metrics and /healthz (default ${DEFAULT-VALUE}).")
    int metricsPort;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--tls-cert-file", required = true, paramLabel = "FILE", description = "PEM certificate chain served to the API server.")
    Path certFile;

    @Option(names = "--tls-key-file", required = true, paramLabel = "FILE", description = "PEM private key (PKCS#8 or PKCS#1 RSA).")
    Path keyFile;

    @Option(names = "--template", required = true, paramLabel = "FILE",
            description = "What to inject, as the chart renders it (ConfigMap <release>-lameduck-injector, key template.yaml).")
    Path template;

    @Option(names = "--no-rbac", description = "Do not bind the agent's ClusterRole to injected pods' ServiceAccounts (no API access needed).")
    boolean noRbac;

    @Option(names = "--log-format", paramLabel = "json|text", defaultValue = "json", description = "Log format (default ${DEFAULT-VALUE}).")
    LogFormat logFormat;

    /** The most {@code --shutdown-delay-seconds} allows: the pod's grace period must cover it and the stop after it. */
    static final int MAX_SHUTDOWN_DELAY_SECONDS = 60;

    @Option(names = "--shutdown-delay-seconds", defaultValue = "5", paramLabel = "N",
            description = "After SIGTERM, keep answering admissions this long (each closing its connection) before stopping, so pods "
                    + "created meanwhile are injected (default ${DEFAULT-VALUE}, 0-" + MAX_SHUTDOWN_DELAY_SECONDS + ").")
    int shutdownDelaySeconds;

    /** {@code --shutdown-delay-seconds}, checked. */
    static Duration shutdownDelay(int seconds) throws ConfigException {
        if (seconds < 0 || seconds > MAX_SHUTDOWN_DELAY_SECONDS) {
            throw new ConfigException("--shutdown-delay-seconds " + seconds + " is out of range; expected 0-" + MAX_SHUTDOWN_DELAY_SECONDS
                    + " (the pod's terminationGracePeriodSeconds must cover it and the 5 s stop after it)");
        }
        return Duration.ofSeconds(seconds);
    }

    @Override
    public Integer call() throws Exception {
        LogSetup.configure(logFormat == LogFormat.JSON, "info", false);
        for (int p : new int[] {port, metricsPort}) {
            if (p < 0 || p > 65535) {
                throw new ConfigException("port " + p + " is out of range; expected 0-65535");
            }
        }
        Duration shutdownDelay = shutdownDelay(shutdownDelaySeconds);
        InjectionTemplate loaded = InjectionTemplate.load(template);
        PrometheusRegistry registry = new PrometheusRegistry();
        KubernetesClient client = noRbac ? null : new KubernetesClientBuilder().build();
        AgentRoleBinder binder = noRbac ? AgentRoleBinder.NONE : new KubeAgentRoleBinder(client, loaded.agentClusterRole());
        InjectorServer server = new InjectorServer(new InjectorServer.Settings(host, port, metricsPort, certFile, keyFile),
                new AdmissionHandler(new PodInjector(loaded, Version.current()), binder, new InjectorMetrics(registry)), registry);
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stopAfter(shutdownDelay, TimeSource.SYSTEM);
            } catch (Exception e) {
                LOG.warn("stopping the injector: {}", e.toString());
            } finally {
                if (client != null) {
                    client.close();
                }
            }
        }, "lameduck-injector-stop"));
        LOG.info("injector {} serving POST /mutate on https port {}, /metrics on port {}; template {}", Version.current(),
                server.port(), server.metricsPort(), template);
        server.join();
        return 0;
    }
}
