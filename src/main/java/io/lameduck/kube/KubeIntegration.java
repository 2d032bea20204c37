package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.AgentConfig.KubeMode;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.Cause;
import io.lameduck.drain.DrainListener;
import io.lameduck.maintenance.MaintenanceListener;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.maintenance.MaintenanceStore;
import io.lameduck.drain.Withdrawal;
import io.lameduck.restart.PodFacts;
import io.lameduck.restart.RestartCycle;
import io.lameduck.time.Deadline;
import io.lameduck.time.Ticker;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.File;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's Kubernetes integration: what the drain engine needs from the API, behind the drain
 * package's interfaces. Built once at startup by {@link #connect} (or {@link #using} with a ready client):
 *
 * <ol>
 *   <li>find the API (in-cluster service account or {@code KUBECONFIG}) and the pod's identity (downward
 *       API); without either, standalone mode, said once in the log ({@code kube.mode: enabled} fails instead);
 *   <li>read the own pod: an API that does not answer means standalone mode too;
 *   <li>check RBAC and log exactly which verbs are missing and which features degrade ({@link #rbac()}), and warn
 *       where the strategy cannot work with the pod or its Services: checks that only inform, which the agent runs
 *       once READY ({@link #checkInBackground}) so that they do not delay the serving mark.
 * </ol>
 *
 * The wiring then asks for the {@link #startupState()} (a pod already being deleted comes up DRAINING, never
 * READY; persisted maintenance is restored through {@code Maintenance.restore}), calls
 * {@code withdrawal().restore()} when the agent becomes READY without maintenance, and uses {@link #withdrawal()},
 * {@link #budgetSource()}, {@link #maintenanceStore()} and {@link #events()} for drains. Nothing here
 * throws for API trouble once connected: it degrades and says so.
 */
public final class KubeIntegration implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KubeIntegration.class);
    /** How long {@link #close()} waits for queued Kubernetes Events (e.g. "drain completed") to be written. */
    static final Duration EVENT_FLUSH_LIMIT = Duration.ofSeconds(3);
    /** The startup checks (read the pod, RBAC) together take at most this long. */
    static final Duration STARTUP_LIMIT = Duration.ofSeconds(5);
    /**
     * How long the first read of the pod retries when the API does not answer. A new pod often starts while the
     * API server is busy (a rollout), before its node routes the API's Service, or with so little CPU that the JVM's
     * first TLS handshake takes seconds; giving up at the first timeout made the agent exit (kube.mode enabled) or
     * run without the API (auto) in exactly those rollouts. Well within the chart's startup probe window (60 s).
     */
    static final Duration STARTUP_READ_WINDOW = Duration.ofSeconds(20);
    private static final Duration FIRST_RETRY_PAUSE = Duration.ofMillis(250);
    private static final Duration LONGEST_RETRY_PAUSE = Duration.ofSeconds(2);

    private final KubernetesClient client;
    private final boolean ownsClient;
    private final ApiCalls api;
    private final OwnPod pod;
    private final VerifiedWithdrawal withdrawal;
    private final PodBudgetSource budget;
    private final KubeletEviction eviction;
    private final PodAnnotationMaintenanceStore maintenance;
    private final PodEvents events;
    private final boolean eventsEnabled;
    private final PodDeletionWatch deletion;
    private final Optional<ServingSwitch> servingSwitch;
    /** Set once, from {@link #checkAtStartup}; read-only afterwards. */
    private volatile RbacReport rbac;
    /** The start-up checks {@link #connect} left for {@link #checkInBackground}; taken once. */
    private final AtomicReference<Runnable> pendingChecks = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    /** What start-up needs to know about the pod, from one fresh read. */
    public record StartupState(boolean deleting, Optional<MaintenanceStatus> persistedMaintenance) {}

    /** Wires the parts; talks to the API only in {@link #checkAtStartup}, which the factories call next. */
    private KubeIntegration(AgentConfig config, KubernetesClient client, boolean ownsClient, OwnPod pod, KubeMetrics metrics,
            ApiCalls api) {
        this.client = client;
        this.ownsClient = ownsClient;
        this.api = api;
        Clock clock = Clock.systemUTC();
        this.pod = pod;
        PodIdentity identity = pod.identity();
        AgentConfig.Withdraw withdraw = config.drain().withdraw();
        this.eviction = new KubeletEviction(client, pod, api);
        this.servingSwitch = switch (withdraw.strategy()) {
            case PROBE -> Optional.empty();
            case LABEL -> Optional.of(new ServingSwitch.Label(withdraw.label()));
            case READINESS_GATE -> Optional.of(new ServingSwitch.ReadinessGate(withdraw.conditionType(), clock, eviction::known));
        };
        this.eventsEnabled = config.kube().events();
        this.events = new PodEvents(client, identity, pod::lastUid, pod::lastWorkload, api, clock);
        PodEvents eventWriter = events;
        VerifiedWithdrawal.Warnings warnings = (reason, message) -> {
            if (eventsEnabled) {
                eventWriter.warning(reason, message);
            }
        };
        EndpointVerifier verifier = new EndpointVerifier(client, identity.namespace(), api);
        Optional<IngressRoutes> ingresses = config.drain().propagation().looksUpIngresses()
                ? Optional.of(new IngressRoutes(client, identity.namespace(), api)) : Optional.empty();
        this.withdrawal = new VerifiedWithdrawal(withdraw.strategy().configName(), servingSwitch, pod, verifier, ingresses, metrics,
                withdraw.timeout(), withdraw.lastServingEndpoint(), warnings, Ticker.SYSTEM, clock);
        this.budget = new PodBudgetSource(pod, config.drain().budget(), clock, eviction::read);
        this.maintenance = new PodAnnotationMaintenanceStore(pod, config.kube().maintenanceAnnotation());
        this.deletion = new PodDeletionWatch(client, pod, api);
    }

    /**
     * Connects to the Kubernetes API the environment describes: {@code KUBECONFIG} (first file) or the
     * in-cluster service account ({@code KUBERNETES_SERVICE_HOST}); identity from {@code POD_NAME},
     * {@code POD_NAMESPACE}, {@code HOST_IP}, falling back to {@code HOSTNAME} and the service-account
     * namespace file.
     *
     * @return empty in standalone mode ({@code kube.mode: disabled}, or {@code auto} without a usable API),
     *     which is logged once here
     * @throws KubeUnavailableException with {@code kube.mode: enabled} and no usable API; the message says why
     */
    public static Optional<KubeIntegration> connect(AgentConfig config, Map<String, String> env, PrometheusRegistry registry)
            throws KubeUnavailableException {
        return connect(config, env, registry, PodIdentity.SERVICE_ACCOUNT_NAMESPACE_FILE);
    }

    static Optional<KubeIntegration> connect(AgentConfig config, Map<String, String> env, PrometheusRegistry registry,
            Path namespaceFile) throws KubeUnavailableException {
        return connect(config, env, registry, namespaceFile, STARTUP_READ_WINDOW);
    }

    static Optional<KubeIntegration> connect(AgentConfig config, Map<String, String> env, PrometheusRegistry registry,
            Path namespaceFile, Duration readWindow) throws KubeUnavailableException {
        KubeMode mode = config.kube().mode();
        if (mode == KubeMode.DISABLED) {
            LOG.info("standalone mode: kube.mode is disabled; withdrawal is probe-only (/readyz), the budget is drain.budget");
            return Optional.empty();
        }
        PodIdentity.Lookup lookup = PodIdentity.fromEnvironment(env, namespaceFile);
        if (lookup instanceof PodIdentity.Lookup.Missing missing) {
            return standalone(mode, missing.reason());
        }
        PodIdentity identity = ((PodIdentity.Lookup.Found) lookup).identity();
        Optional<Config> clientConfig = clientConfig(env);
        if (clientConfig.isEmpty()) {
            return standalone(mode, "no Kubernetes API configured (neither KUBERNETES_SERVICE_HOST for the in-cluster "
                    + "service account nor KUBECONFIG is set)");
        }
        LOG.info("reading pod {} from the Kubernetes API at {}", identity, clientConfig.get().getMasterUrl());
        KubernetesClient client = new KubernetesClientBuilder().withConfig(clientConfig.get())
                .withKubernetesSerialization(LeanPodModel.serialization()).build();
        KubeMetrics metrics = new KubeMetrics(registry);
        ApiCalls api = new ApiCalls(metrics);
        OwnPod pod = new OwnPod(client, identity, api);
        Optional<Pod> read = Optional.empty();
        try {
            read = Optional.of(readAtStartup(pod, Deadline.after(readWindow)));
        } catch (ApiException e) {
            if (e.kind() != ApiException.Kind.FORBIDDEN) {
                api.close();
                client.close();
                return standalone(mode, "cannot read pod " + identity + " from the API at " + clientConfig.get().getMasterUrl()
                        + ": " + e.getMessage());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            api.close();
            client.close();
            return Optional.empty();
        }
        LOG.info("Kubernetes integration for pod {} via {}", identity, clientConfig.get().getMasterUrl());
        KubeIntegration integration = new KubeIntegration(config, client, true, pod, metrics, api);
        Optional<Pod> startupRead = read;
        startupRead.ifPresent(r -> integration.deletion.seen(r, "start-up read"));
        integration.pendingChecks.set(() -> integration.checkAtStartup(config, startupRead));
        return Optional.of(integration);
    }

    /**
     * Reads the pod, retrying with back-off while the API does not answer (unreachable, or slower than a call's
     * limit) until {@code window} has passed. A definite answer (403, 404, ...) is not retried: waiting would not
     * change it.
     */
    private static Pod readAtStartup(OwnPod pod, Deadline window) throws ApiException, InterruptedException {
        Duration pause = FIRST_RETRY_PAUSE;
        for (int attempt = 1; ; attempt++) {
            try {
                return pod.get(window.cap(OwnPod.CALL_LIMIT));
            } catch (ApiException e) {
                boolean noAnswer = e.kind() == ApiException.Kind.UNREACHABLE || e.kind() == ApiException.Kind.TIMEOUT;
                if (!noAnswer || window.remaining().compareTo(pause) <= 0) {
                    throw attempt == 1 ? e : new ApiException(e.kind(), e.getMessage() + " (" + attempt + " attempts)", e);
                }
                LOG.warn("reading pod {} at start-up, attempt {}: {}; retrying in {} ms (for up to {} s more)", pod.identity(),
                        attempt, e.getMessage(), pause.toMillis(), window.remaining().toSeconds());
                Thread.sleep(pause.toMillis());
                pause = OwnPod.min(pause.multipliedBy(2), LONGEST_RETRY_PAUSE);
            }
        }
    }

    /**
     * With a ready client (tests, or a wiring that builds its own); the client stays the caller's to close.
     * Like {@link #connect}, it registers the integration's metrics on {@code registry}: once per registry.
     */
    public static KubeIntegration using(AgentConfig config, KubernetesClient client, PodIdentity identity, PrometheusRegistry registry) {
        KubeMetrics metrics = new KubeMetrics(registry);
        ApiCalls api = new ApiCalls(metrics);
        KubeIntegration integration = new KubeIntegration(config, client, false, new OwnPod(client, identity, api), metrics, api);
        integration.checkAtStartup(config, Optional.empty());
        return integration;
    }

    private static Optional<KubeIntegration> standalone(KubeMode mode, String why) throws KubeUnavailableException {
        if (mode == KubeMode.ENABLED) {
            throw new KubeUnavailableException("kube.mode is enabled but " + why
                    + "; fix that, or set kube.mode: auto to run standalone without the Kubernetes integration");
        }
        LOG.info("standalone mode (kube.mode: auto): {}; withdrawal is probe-only (/readyz), the budget is drain.budget", why);
        return Optional.empty();
    }

    /**
     * The API the environment describes: {@code KUBECONFIG} (its first file), else the in-cluster service account
     * ({@code KUBERNETES_SERVICE_HOST}); empty when neither is set. Also for the {@code check} commands.
     */
    public static Optional<Config> clientConfig(Map<String, String> env) {
        Config config;
        String kubeconfig = env.get("KUBECONFIG");
        if (kubeconfig != null && !kubeconfig.isBlank()) {
            config = Config.fromKubeconfig(new File(kubeconfig.split(File.pathSeparator)[0]));
        } else if (env.get("KUBERNETES_SERVICE_HOST") != null) {
            config = Config.autoConfigure(null); // fabric8's in-cluster setup, which re-reads the rotated token
        } else {
            return Optional.empty();
        }
        // Every call is bounded by ApiCalls; fabric8's own retries would only keep threads busy past that.
        config.setRequestRetryBackoffLimit(1);
        return Optional.of(config);
    }

    /**
     * The start-up checks, within {@link #STARTUP_LIMIT}: whether the strategy can work with the pod and the Services
     * selecting it (logged at WARN; drains repeat them in their report), and RBAC ({@link #rbac()}).
     *
     * @param alreadyRead the pod if {@code connect} just read it: reused instead of a second read
     */
    private void checkAtStartup(AgentConfig config, Optional<Pod> alreadyRead) {
        String strategy = config.drain().withdraw().strategy().configName();
        Deadline deadline = Deadline.after(STARTUP_LIMIT);
        try {
            try {
                Pod current = alreadyRead.isPresent() ? alreadyRead.get() : pod.get(deadline.cap(OwnPod.CALL_LIMIT));
                servingSwitch.flatMap(s -> s.problem(current)).ifPresent(problem ->
                        LOG.warn("drain.withdraw.strategy {}: {}", strategy, problem));
                withdrawal.startupWarnings(current, deadline).forEach(warning ->
                        LOG.warn("drain.withdraw.strategy {}: {}", strategy, warning));
            } catch (ApiException e) {
                LOG.warn("cannot read pod {} at startup: {}", pod.identity(), e.getMessage());
            }
            rbac = new RbacCheck(client, pod.identity(), api).check(RbacCheck.required(config), deadline);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            rbac = new RbacReport(false, List.of(), List.of(), "interrupted");
        }
    }

    /**
     * Runs the start-up checks {@link #connect} left (they only inform) on a daemon thread of their own, once; nothing
     * when {@link #using} already ran them. The agent calls it when its start-up steps are done.
     *
     * @return completes with the RBAC report once the checks have run (at once when they already had)
     */
    public CompletableFuture<RbacReport> checkInBackground() {
        Runnable checks = pendingChecks.getAndSet(null);
        if (checks == null) {
            return CompletableFuture.completedFuture(rbac);
        }
        CompletableFuture<RbacReport> done = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                checks.run();
                done.complete(rbac);
            } catch (RuntimeException e) {
                LOG.debug("start-up checks ended early (the agent is stopping?): {}", e.toString());
                done.completeExceptionally(e);
            }
        }, "lameduck-startup-checks");
        thread.setDaemon(true);
        thread.start();
        return done;
    }

    public PodIdentity identity() {
        return pod.identity();
    }

    /** The configured strategy ({@code readiness-gate}, {@code label} or {@code probe}), verified on EndpointSlices. */
    public Withdrawal withdrawal() {
        return withdrawal;
    }

    /** deletionTimestamp → time left, else terminationGracePeriodSeconds, else drain.budget; re-reads the pod each time. */
    public BudgetSource budgetSource() {
        return budget;
    }

    /** Persists maintenance in the pod annotation {@code kube.maintenanceAnnotation} (JSON). */
    public MaintenanceStore maintenanceStore() {
        return maintenance;
    }

    /**
     * Whether the pod is already being deleted (it has a deletionTimestamp) and the active maintenance a
     * previous agent recorded on it, from one fresh read. When the pod cannot be read: not deleting, no
     * maintenance, with a warning.
     */
    public StartupState startupState() {
        try {
            Pod current = pod.get(OwnPod.CALL_LIMIT);
            deletion.seen(current, "start-up read");
            return new StartupState(current.getMetadata().getDeletionTimestamp() != null, maintenance.read(current));
        } catch (ApiException e) {
            LOG.warn("cannot read pod {} ({}); assuming it is not being deleted and not in maintenance", pod.identity(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new StartupState(false, Optional.empty());
    }

    /**
     * Watches the pod: {@code onDeletion} runs once (on the watch's own thread) when the pod gets a deletionTimestamp, or
     * at once if a read already showed one; the wiring starts the drain from it (trigger {@code pod-deletion}), so a pod
     * whose app has no preStop still drains. {@code onChange} receives every state of the pod seen from now on (watch
     * events and fresh reads), in order, on the watch's own thread: the restart cycles follow the containers through it.
     */
    public void watchPod(Runnable onDeletion, Consumer<PodFacts> onChange) {
        deletion.start(onDeletion, onChange);
    }

    /**
     * A fresh read of the pod, bounded by {@code limit} (at most one at a time): whether it is being deleted or
     * disrupted by the kubelet, and its containers. Empty when it cannot be read in time.
     */
    public Optional<PodFacts> freshFacts(Duration limit) {
        try {
            return deletion.freshRead(limit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /**
     * Whether the pod is being deleted: what the deletion watch (or any read) saw, else a fresh read of the
     * pod bounded by {@code limit} (the kubelet's preStop can come before the watch event). False when the
     * pod cannot be read in time. Fresh reads take turns: at most one API read at a time.
     */
    public boolean isDeleting(Duration limit) {
        try {
            return deletion.isDeleting(limit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return deletion.knownDeleting();
        }
    }

    /**
     * The kubelet's eviction Event on the pod (cause {@code kubelet-eviction: Evicted: ...}), from one bounded read of
     * its Events; empty when there is none or they cannot be read in time. A kubelet eviction deletes nothing, and the
     * pod's status shows it only once its containers have stopped: this Event is the early fact.
     */
    public Optional<Cause> kubeletEviction() {
        return eviction.read();
    }

    /** Whether the pod is known to be deleting (the watch or a read saw it), without asking the API. */
    public boolean knownDeleting() {
        return deletion.knownDeleting();
    }

    /** The ends of restart cycles as Kubernetes Events on the pod; does nothing when {@code kube.events} is false. */
    public RestartCycle.Listener restartEvents() {
        return eventsEnabled ? events : ended -> { };
    }

    /** Kubernetes Events on the pod; a listener that does nothing when {@code kube.events} is false. */
    public DrainListener events() {
        return eventsEnabled ? events : new DrainListener() { };
    }

    /** Maintenance changes as Kubernetes Events on the pod; does nothing when {@code kube.events} is false. */
    public MaintenanceListener maintenanceEvents() {
        return eventsEnabled ? events : status -> { };
    }

    /** What the startup RBAC check found; null until the start-up checks have run (see {@link #checkInBackground}). */
    public RbacReport rbac() {
        return rbac;
    }

    /** Flushes queued Events (for at most a few seconds), then stops; closes the client if {@link #connect} built it. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        deletion.close();
        events.close(EVENT_FLUSH_LIMIT);
        api.close();
        if (ownsClient) {
            client.close();
        }
    }
}
