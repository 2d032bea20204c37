package io.lameduck.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The agent's validated configuration. Built only by {@link ConfigLoader}; every field is set. */
public record AgentConfig(
        Server server, Security security, Drain drain, Metrics metrics, Logging logging, Kube kube) {

    public record Server(String host, int port) {}

    /**
     * Who may call control endpoints besides loopback.
     *
     * @param nodeIp the node's IP (where the kubelet's preStop hook comes from); empty if unknown
     * @param tokenFile a file holding the bearer token, if configured
     * @param token the bearer token itself, if configured (read from {@code tokenFile} or the environment)
     * @param trustGateway whether {@code /prestop} is also accepted from the pod's default gateway: on bridge CNIs that is
     *     the node, and the kubelet's preStop {@code httpGet} comes from it
     */
    public record Security(String nodeIp, Optional<Path> tokenFile, Optional<String> token, boolean trustGateway) {
        @Override
        public String toString() {
            return "Security[nodeIp=" + nodeIp + ", tokenFile=" + tokenFile + ", token=" + (token.isPresent() ? "<set>" : "<none>")
                    + ", trustGateway=" + trustGateway + "]";
        }
    }

    /** @param propagationDelay how long the {@code fixed} propagation mode waits */
    public record Drain(Duration budget, Duration safetyMargin, Duration propagationDelay, PropagationSettings propagation,
            Withdraw withdraw, List<HookSpec> hooks) {
        public Drain {
            hooks = List.copyOf(hooks);
        }
    }

    public enum PropagationMode { FIXED, QUIET }

    /**
     * How the propagate step decides that traffic has moved away from the withdrawn pod.
     *
     * @param mode {@code fixed}: wait {@code drain.propagationDelay}; {@code quiet}: wait until the traffic on
     *     {@code ports} (new connections, and requests on open ones) has been silent for {@code quietPeriod} or ten
     *     mean gaps of the measured traffic, at most {@code maximum} after the withdrawal
     * @param ports the application's ports whose traffic is watched (and reported in either mode)
     * @param minimum with too little traffic to measure a rate, the least time after the withdrawal
     * @param keepAliveWait how long after the withdrawal requests on connections already open still count as
     *     traffic (a consumer that pools connections and applies endpoint changes late)
     * @param waitForIngresses when an Ingress routes to a Service that selects the pod, requests on open connections
     *     count until they stop (at most {@code maximum}), not only {@code keepAliveWait}: its controller pools
     *     connections to the pod and sends on them until it applies the endpoint change
     * @param ignorePeers peers whose connections are not counted (e.g. the kubelet's probes)
     */
    public record PropagationSettings(PropagationMode mode, List<Integer> ports, Duration quietPeriod, Duration minimum,
            Duration maximum, Duration keepAliveWait, boolean waitForIngresses, Duration pollInterval, List<Cidr> ignorePeers) {
        public PropagationSettings {
            ports = List.copyOf(ports);
            ignorePeers = List.copyOf(ignorePeers);
        }

        /** Whether a drain waits for ingress controllers, so the withdrawal looks up the Ingresses routing to the pod. */
        public boolean looksUpIngresses() {
            return waitForIngresses && mode == PropagationMode.QUIET && !ports.isEmpty();
        }
    }

    public enum Strategy {
        PROBE("probe"), LABEL("label"), READINESS_GATE("readiness-gate");

        private final String configName;

        Strategy(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    /**
     * How the pod leaves Service endpoints.
     *
     * @param timeout how long to wait for the EndpointSlices to confirm the withdrawal
     * @param label the label the Service selector requires ({@code label} strategy)
     * @param conditionType the pod readiness-gate condition the agent owns ({@code readiness-gate})
     * @param lastServingEndpoint what to do when the pod is the last serving endpoint of a Service
     */
    public record Withdraw(Strategy strategy, Duration timeout, String label, String conditionType,
            LastServingEndpoint lastServingEndpoint) {}

    /** When withdrawing the pod would leave a Service without any serving endpoint. */
    public enum LastServingEndpoint {
        /** Withdraw anyway (warned in the log, the report and an Event): the drain does what it always does. */
        WITHDRAW,
        /** Do not flip the label or readiness gate; the pod leaves only when its readiness probe sees /readyz 503. */
        KEEP
    }

    public enum OnFailure { CONTINUE, ABORT }

    /**
     * When a hook runs. {@code quiet} (the default): once the traffic has stopped, before SIGTERM reaches the app.
     * {@code trigger}: as the drain starts, beside the withdrawal and the traffic watch, for an app that can start
     * leaving on its own (answer {@code Connection: close}, so keep-alive clients open new connections, which the
     * data plane sends elsewhere once it has caught up).
     */
    public enum HookAt { TRIGGER, QUIET }

    /** What every hook has. */
    public record HookCommon(String name, int priority, Duration timeout, OnFailure onFailure, HookAt at) {
        public HookCommon(String name, int priority, Duration timeout, OnFailure onFailure) {
            this(name, priority, timeout, onFailure, HookAt.QUIET);
        }
    }

    /** One drain hook, by kind. */
    public sealed interface HookSpec permits HttpHook, ExecHook, SleepHook, WaitIdleHook {
        HookCommon common();

        String kind();
    }

    public record HttpHook(
            HookCommon common, String method, java.net.URI url, Map<String, String> headers,
            int expectStatus, Duration connectTimeout, Duration readTimeout) implements HookSpec {
        public HttpHook {
            headers = Map.copyOf(headers);
        }

        @Override
        public String kind() {
            return "http";
        }
    }

    public record ExecHook(HookCommon common, List<String> command, Map<String, String> env, Optional<Path> workingDir)
            implements HookSpec {
        public ExecHook {
            command = List.copyOf(command);
            env = Map.copyOf(env);
        }

        @Override
        public String kind() {
            return "exec";
        }
    }

    public record SleepHook(HookCommon common, Duration duration) implements HookSpec {
        @Override
        public String kind() {
            return "sleep";
        }
    }

    /** Waits until no ESTABLISHED connection exists on {@code ports} (peers in {@code ignorePeers} excepted). */
    public record WaitIdleHook(
            HookCommon common, List<Integer> ports, Duration quietPeriod, Duration pollInterval, List<Cidr> ignorePeers)
            implements HookSpec {
        public WaitIdleHook {
            ports = List.copyOf(ports);
            ignorePeers = List.copyOf(ignorePeers);
        }

        @Override
        public String kind() {
            return "wait-idle";
        }
    }

    public record Metrics(boolean jvm) {}

    public enum LogFormat { JSON, TEXT }

    public record Logging(LogFormat format, String level) {}

    public enum KubeMode { AUTO, ENABLED, DISABLED }

    /**
     * Kubernetes integration.
     *
     * @param mode {@code auto}: use the API when one is reachable; {@code enabled}: fail without it;
     *     {@code disabled}: standalone
     * @param events whether to write Kubernetes Events on the pod
     * @param maintenanceAnnotation the pod annotation that persists maintenance mode
     */
    public record Kube(KubeMode mode, boolean events, String maintenanceAnnotation) {}
}
