package io.lameduck;

import io.lameduck.config.AgentConfig;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.Cause;
import io.lameduck.drain.DrainCoordinator;
import io.lameduck.drain.DrainListener;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.Drainer;
import io.lameduck.drain.Hook;
import io.lameduck.drain.LifecycleGuardedWithdrawal;
import io.lameduck.maintenance.Maintenance;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.maintenance.MaintenanceStore;
import io.lameduck.drain.ProbeWithdrawal;
import io.lameduck.drain.RecentAccepts;
import io.lameduck.drain.Trigger;
import io.lameduck.drain.Withdrawal;
import io.lameduck.drain.hooks.HookFactory;
import io.lameduck.drain.hooks.PropagationFactory;
import io.lameduck.sockets.TcpConnectionTable;
import io.lameduck.http.AdminServer;
import io.lameduck.http.DefaultGateway;
import io.lameduck.http.Json;
import io.lameduck.http.ListenerBindException;
import io.lameduck.http.PrestopAccess;
import io.lameduck.http.ServerException;
import io.lameduck.kube.KubeIntegration;
import io.lameduck.kube.KubeUnavailableException;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.ProcessAge;
import io.lameduck.lifecycle.State;
import io.lameduck.logging.RawJson;
import io.lameduck.metrics.AgentMetrics;
import io.lameduck.restart.PodFacts;
import io.lameduck.restart.RestartCycle;
import io.lameduck.time.Deadline;
import io.lameduck.time.Durations;
import io.lameduck.time.TimeSource;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the agent from its configuration and runs its lifecycle:
 *
 * <ol>
 *   <li>{@link #start()}: STARTING, the admin listener accepts connections, start-up steps run in order
 *       (restore persisted state, mark the pod serving), then READY;
 *   <li>{@link #drain(Trigger)}: starts or joins the one drain (DRAINING → DRAINED);
 *   <li>{@link #stop()}: STOPPING, the listener closes gracefully within what remains of the drain
 *       deadline, STOPPED.
 * </ol>
 */
public final class Agent {
    /** How long the listener may take to close when no drain has set a deadline (e.g. stopping before READY). */
    static final Duration DEFAULT_STOP_GRACE = Duration.ofSeconds(5);
    /** The least time the listener gets to hand out the last reports, even when the deadline is spent. */
    static final Duration MIN_STOP_GRACE = Duration.ofMillis(250);
    /**
     * How long a /prestop from outside loopback and the node IP may wait for a fresh read of the pod to learn
     * whether it is being deleted (when the deletion watch has not told yet). The kubelet waits for its preStop.
     */
    static final Duration PRESTOP_DELETION_READ_LIMIT = Duration.ofSeconds(2);
    /**
     * How long after the start-up steps the checks that only inform run. A rollout deletes an old pod as soon as this
     * one is Ready, and that pod drains on the same node (5–12 s in the benchmark): their API calls and class loading
     * would take CPU from it there.
     */
    static final Duration STARTUP_CHECKS_AFTER = Duration.ofSeconds(15);
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final Lifecycle lifecycle;
    private final Maintenance maintenance;
    private final DrainCoordinator drains;
    private final RestartCycle restarts;
    private final AdminServer server;
    private final ExecutorService hookExecutor;
    private final ScheduledExecutorService scheduler;
    private final Optional<KubeIntegration> kube;
    /** Sampled every few seconds from start-up on, for the drain's rate of traffic before its trigger; empty when unused. */
    private final Optional<RecentAccepts> accepts;
    /** Counted down once {@link #start} has returned or thrown: {@link #shutdown} stops only after that. */
    private final CountDownLatch startupFinished = new CountDownLatch(1);

    private Agent(AgentConfig config, Lifecycle lifecycle, Maintenance maintenance,
            DrainCoordinator drains, RestartCycle restarts, AdminServer server, ExecutorService hookExecutor, ScheduledExecutorService scheduler,
            Optional<KubeIntegration> kube, Optional<RecentAccepts> accepts) {
        this.config = config;
        this.accepts = accepts;
        this.lifecycle = lifecycle;
        this.maintenance = maintenance;
        this.drains = drains;
        this.restarts = restarts;
        this.server = server;
        this.hookExecutor = hookExecutor;
        this.scheduler = scheduler;
        this.kube = kube;
    }

    /** Wires a standalone agent (no Kubernetes API); nothing runs until {@link #start()}. */
    public static Agent create(AgentConfig config) {
        return create(config, new PrometheusRegistry(), Optional.empty());
    }

    /**
     * Opens the admin listener (probes only, see {@code StartingHandler}), then wires the agent, with the Kubernetes
     * integration when {@code env} leads to a usable API, and installs the endpoints on that listener.
     *
     * @throws KubeUnavailableException with {@code kube.mode: enabled} and no usable API (the listener is closed again)
     * @throws ListenerBindException when the port is taken
     */
    public static Agent create(AgentConfig config, Map<String, String> env)
            throws KubeUnavailableException, ListenerBindException, ServerException {
        PrometheusRegistry registry = new PrometheusRegistry();
        // Listen before connecting: the kubelet's probes then pass while the agent connects (see StartingHandler).
        boolean readyWhileStarting = readyWhileStarting(config, env);
        LongAdder accepted = new LongAdder();
        AdminServer early = AdminServer.listenEarly(config.server().host(), config.server().port(), accepted, readyWhileStarting);
        // Not "accepting connections": that line (in startUp) means every endpoint answers, and callers wait for it.
        LOG.info("admin listener open on {}:{} before connecting to the Kubernetes API: only /livez and /readyz answer "
                + "until the agent is wired", config.server().host(), early.port());
        try {
            return create(config, registry, KubeIntegration.connect(config, env, registry),
                    new Listener(Optional.of(early), accepted, readyWhileStarting));
        } catch (KubeUnavailableException | RuntimeException e) {
            stopQuietly(early);
            throw e;
        }
    }

    /** Wires the agent around an integration built by the caller (tests give it their cluster's client). */
    public static Agent create(AgentConfig config, PrometheusRegistry registry, Optional<KubeIntegration> kube) {
        return create(config, registry, kube, new Listener(Optional.empty(), new LongAdder(), false));
    }

    /**
     * The admin listener as {@link #create(AgentConfig, Map)} opened it before it connected, or none yet.
     *
     * @param accepted the connections it accepted (the agent's share of the pod's, see {@code RecentAccepts})
     */
    private record Listener(Optional<AdminServer> early, LongAdder accepted, boolean readyWhileStarting) {}

    /**
     * Whether {@code /readyz} may pass before READY: with a readiness gate (only the agent sets it, so the pod is not Ready
     * before the agent marks it serving) in a pod, on the first run of the agent there ({@link FirstStart}).
     */
    private static boolean readyWhileStarting(AgentConfig config, Map<String, String> env) {
        if (config.drain().withdraw().strategy() != AgentConfig.Strategy.READINESS_GATE || config.kube().mode() == AgentConfig.KubeMode.DISABLED
                || !env.containsKey("KUBERNETES_SERVICE_HOST")) {
            return false;
        }
        FirstStart start = FirstStart.claim(FirstStart.DIR, FirstStart.MOUNT_INFO);
        LOG.info("/readyz {} before READY: {}", start.first() ? "passes" : "fails", start.why());
        return start.first();
    }

    private static void stopQuietly(AdminServer server) {
        try {
            server.stop(Duration.ZERO);
        } catch (ServerException e) {
            LOG.debug("closing the admin listener after a failed start: {}", e.toString());
        }
    }

    private static Agent create(AgentConfig config, PrometheusRegistry registry, Optional<KubeIntegration> kube, Listener listener) {
        Clock clock = Clock.systemUTC();
        Lifecycle lifecycle = new Lifecycle(clock);
        lifecycle.addListener(t -> LOG.info("state {} -> {}{}", t.from(), t.to(), t.reason().isEmpty() ? "" : ": " + t.reason()));
        AgentMetrics metrics = new AgentMetrics(registry, Version.current(), config.metrics().jvm());
        lifecycle.addListener(metrics.lifecycleListener());
        Withdrawal withdrawal = new LifecycleGuardedWithdrawal(
                kube.map(KubeIntegration::withdrawal).orElseGet(ProbeWithdrawal::new), lifecycle);
        BudgetSource budget = kube.map(KubeIntegration::budgetSource).orElseGet(() -> BudgetSource.fixed(config.drain().budget()));
        MaintenanceStore store = kube.map(KubeIntegration::maintenanceStore).orElse(MaintenanceStore.IN_MEMORY);
        List<Hook> hooks = HookFactory.createAll(config.drain().hooks(), TimeSource.SYSTEM);
        ExecutorService hookExecutor = Executors.newCachedThreadPool(daemonThreads("lameduck-hook"));
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(daemonThreads("lameduck-timer"));
        LongAdder adminAccepted = listener.accepted();
        Optional<RecentAccepts> accepts = PropagationFactory.recentAccepts(config.drain(), config.server().port(), adminAccepted::sum,
                TcpConnectionTable.system(), TimeSource.SYSTEM);
        Drainer drainer = new Drainer(lifecycle, withdrawal, hooks, config.drain().withdraw().timeout(),
                PropagationFactory.create(config.drain(), TcpConnectionTable.system(), accepts, TimeSource.SYSTEM), hookExecutor, TimeSource.SYSTEM);
        DrainCoordinator drains = new DrainCoordinator(drainer, budget, config.drain().budget(), config.drain().safetyMargin(), TimeSource.SYSTEM);
        drains.addListener(new ReportLogger());
        drains.addListener(metrics.drainListener());
        metrics.sampleConnections(appPorts(config).stream().collect(Collectors.toMap(
                port -> port, port -> () -> TcpConnectionTable.system().established(port))));
        metrics.setDeadlineRemaining(() -> lifecycle.state() == State.DRAINING
                ? drains.deadline().map(Deadline::remaining) : Optional.empty());
        Maintenance maintenance = new Maintenance(lifecycle, withdrawal, config.drain().withdraw().timeout(),
                store, scheduler, TimeSource.SYSTEM);
        maintenance.addListener(metrics.maintenanceListener());
        lifecycle.addListener(t -> {
            if (t.to() == State.DRAINING) {
                maintenance.supersedeByDrain();
            }
        });
        kube.ifPresent(k -> {
            drains.addListener(k.events());
            maintenance.addListener(k.maintenanceEvents());
        });
        RestartCycle restarts = new RestartCycle(drains::withdrawForRestart, maintenance::markServingUnlessActive, scheduler,
                RestartCycle.KILL_GRACE, clock);
        restarts.addListener(metrics.restartListener());
        lifecycle.addListener(t -> {
            if (t.to() == State.DRAINING) {
                restarts.supersedeByDrain();
            }
        });
        kube.ifPresent(k -> restarts.addListener(k.restartEvents()));
        // Only in a pod (with the Kubernetes integration): a standalone agent's default gateway is a router, not the node.
        Optional<InetAddress> gateway = config.security().trustGateway() && kube.isPresent()
                ? DefaultGateway.read(DefaultGateway.PROC_NET_ROUTE) : Optional.empty();
        gateway.ifPresent(g -> LOG.info("/prestop is also accepted from the pod's default gateway {} (the node on bridge CNIs; "
                + "security.trustGateway: false turns that off)", g.getHostAddress()));
        AdminServer.Settings settings = new AdminServer.Settings(config.server().host(), config.server().port(), config.security().nodeIp(),
                config.security().token(), gateway);
        AdminServer.Wiring wiring = new AdminServer.Wiring(lifecycle, maintenance, drains, summary(config), Version.current(),
                (trigger, forGood) -> prestop(trigger, forGood, kube, drains, restarts, lifecycle), restarts::status,
                listener.readyWhileStarting());
        PrestopAccess prestopAccess = new PrestopAccess(kube.<PrestopAccess.PodDeletion>map(k -> () -> k.isDeleting(PRESTOP_DELETION_READ_LIMIT))
                .orElse(() -> false), metrics::recordPrestopRefused);
        AdminServer server = listener.early()
                .orElseGet(() -> AdminServer.notListening(settings.host(), settings.port(), adminAccepted, listener.readyWhileStarting()))
                .serve(settings, wiring, Optional.of(metrics.servlet()), metrics::recordHttpRequest, prestopAccess);
        return new Agent(config, lifecycle, maintenance, drains, restarts, server, hookExecutor, scheduler, kube, accepts);
    }

    /**
     * What a {@code /prestop} means. Without the Kubernetes API, once a drain began, or with {@code final=true}: the drain
     * (for good). Otherwise one fresh read of the pod decides: deleted, or disrupted by the kubelet ({@code DisruptionTarget}),
     * or evicted by it (its {@code Evicted} Event: the status shows an eviction only once the containers have stopped),
     * drains for good; none of these means the kubelet is about to restart a container, and a restart cycle withdraws
     * until it is back. A pod that cannot be read is taken for a restart too: a deletion still
     * drains for good through the deletion watch and SIGTERM, and a pod drained for good that was not going away would
     * stay out of service until someone deletes it.
     */
    private static CompletableFuture<DrainReport> prestop(Trigger trigger, boolean forGood, Optional<KubeIntegration> kube,
            DrainCoordinator drains, RestartCycle restarts, Lifecycle lifecycle) {
        if (forGood || kube.isEmpty() || drains.triggered() || lifecycle.state().servingIsOver()) {
            return drains.trigger(trigger);
        }
        Optional<PodFacts> facts = kube.get().freshFacts(PRESTOP_DELETION_READ_LIMIT);
        if (facts.map(PodFacts::terminating).orElse(false) || kube.get().knownDeleting()) {
            facts.flatMap(PodFacts::disruption).ifPresent(why -> LOG.info("/prestop on a pod the kubelet is terminating ({}): draining for good", why));
            return drains.trigger(trigger);
        }
        Optional<Cause> evicted = kube.get().kubeletEviction();
        if (evicted.isPresent()) {
            LOG.info("/prestop on a pod the kubelet is evicting ({}): draining for good", evicted.get());
            return drains.trigger(trigger);
        }
        if (facts.isEmpty()) {
            LOG.warn("/prestop: cannot read pod {} in time; taking it for a container restart (a deletion still drains for good "
                    + "through the deletion watch and SIGTERM)", kube.get().identity());
        } else {
            LOG.info("/prestop on pod {}, which is not being deleted or disrupted: a container is about to restart", kube.get().identity());
        }
        return restarts.prestop(facts, () -> drains.trigger(trigger));
    }

    /**
     * Starts the listener and the deletion watch (a pod deletion starts the drain, trigger {@code pod-deletion}),
     * then runs the start-up steps in order, then becomes READY:
     *
     * <ol>
     *   <li>a pod that is already being deleted (the agent restarted mid-termination) starts draining at once
     *       and never becomes READY;
     *   <li>maintenance persisted on the pod is restored (the pod stays withdrawn);
     *   <li>otherwise the pod is marked serving (readiness gate True, serving label "true").
     * </ol>
     */
    public void start() throws ListenerBindException, ServerException {
        try {
            startUp();
        } finally {
            startupFinished.countDown();
        }
    }

    private void startUp() throws ListenerBindException, ServerException {
        // A drain may already have begun (a signal while the agent was being built): the listener still starts,
        // so /prestop callers and /status can be served, but the start-up steps below are skipped.
        boolean listening = server.listening(); // opened before the Kubernetes connection (create with env)
        lifecycle.moveTo(State.STARTING, listening ? "the admin listener serves every endpoint"
                : "starting the admin listener on " + config.server().host() + ":" + config.server().port());
        if (!listening) {
            try {
                server.start();
            } catch (ListenerBindException | ServerException e) {
                lifecycle.moveTo(State.FAILED, e.getMessage());
                kube.ifPresent(KubeIntegration::close);
                throw e;
            }
        }
        LOG.info("admin listener accepting connections on {}:{}", config.server().host(), server.port());
        accepts.ifPresent(counted -> scheduler.scheduleAtFixedRate(counted::sample, 0, RecentAccepts.SAMPLE_EVERY.toMillis(), TimeUnit.MILLISECONDS));
        // From now on a deletion starts the drain (even when the app's preStop never calls /prestop), and the containers'
        // states move restart cycles on.
        kube.ifPresent(k -> k.watchPod(() -> drains.trigger(Trigger.POD_DELETION), restarts::podChanged));
        if (lifecycle.state() != State.STARTING || drains.triggered()) {
            LOG.info("a drain began during start-up ({}); skipping the start-up steps", lifecycle.state());
            return;
        }
        KubeIntegration.StartupState podState = kube.map(KubeIntegration::startupState)
                .orElse(new KubeIntegration.StartupState(false, Optional.empty()));
        if (podState.deleting()) {
            LOG.info("pod {} is already being deleted: draining now instead of becoming READY", kube.get().identity());
            drains.trigger(Trigger.POD_DELETION);
            return;
        }
        Optional<MaintenanceStatus> persisted = podState.persistedMaintenance();
        if (persisted.isPresent()) {
            try {
                maintenance.restore(persisted.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.info("start-up: {}", new ServingMark(maintenance, lifecycle, restarts, scheduler).markAtStartUp());
        if (drains.runUnlessTriggered(() -> lifecycle.moveTo(State.READY, "listener up and start-up steps done"))) {
            // The whole start-up as the pod sees it (JVM boot included): what a rollout waits for per new pod, and the CPU it
            // cost, which a busy node pays while it starts many pods. Both from /proc: no JMX to load on the way.
            LOG.info("READY {} s after the JVM started, {} CPU-seconds", ProcessAge.current().map(Agent::twoDecimals).orElse("?"),
                    ProcessHandle.current().info().totalCpuDuration().map(Agent::twoDecimals).orElse("?"));
        } else {
            LOG.info("a drain began during start-up; not becoming READY");
        }
        // Only informs (RBAC, Services that make the withdrawal moot): not on the way to the mark, and not in the drain a
        // rollout starts on another pod as soon as this one is Ready either (see STARTUP_CHECKS_AFTER).
        kube.ifPresent(k -> {
            try {
                scheduler.schedule(k::checkInBackground, STARTUP_CHECKS_AFTER.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                LOG.debug("not running the start-up checks: the agent is stopping");
            }
        });
    }

    private static String twoDecimals(Duration duration) {
        return String.format(Locale.ROOT, "%.2f", duration.toNanos() / 1e9);
    }

    /** Starts the drain, or joins the one in progress. */
    public CompletableFuture<DrainReport> drain(Trigger trigger) {
        return drains.trigger(trigger);
    }

    /**
     * The whole termination, as Go's {@code Server.Shutdown} is: drains (or joins the drain a preStop call or the
     * deletion watch began), waits until {@link #start} has returned (a signal during start-up must not close a
     * listener that is still being opened), then stops.
     *
     * @return the drain's report
     */
    public DrainReport shutdown(Trigger trigger) throws ServerException, InterruptedException {
        DrainReport report = drain(trigger).join();
        startupFinished.await();
        stop();
        return report;
    }

    /** Closes the listener gracefully within what remains of the drain deadline, then STOPPED. */
    public void stop() throws ServerException {
        if (!lifecycle.moveTo(State.STOPPING, "stopping the admin listener")) {
            return; // already stopping or stopped
        }
        Duration grace = drains.deadline().map(d -> d.remaining()).orElse(DEFAULT_STOP_GRACE);
        if (grace.compareTo(MIN_STOP_GRACE) < 0) {
            grace = MIN_STOP_GRACE;
        }
        try {
            server.stop(grace);
        } finally {
            scheduler.shutdownNow();
            hookExecutor.shutdownNow();
            kube.ifPresent(KubeIntegration::close); // flushes queued Events
            lifecycle.moveTo(State.STOPPED, "listener closed");
        }
    }

    public int port() {
        return server.port();
    }

    public Lifecycle lifecycle() {
        return lifecycle;
    }

    public Maintenance maintenance() {
        return maintenance;
    }

    /** The configuration as shown in /status: everything but secrets. */
    static Map<String, Object> summary(AgentConfig config) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("server", config.server());
        summary.put("security", Map.of(
                "nodeIp", config.security().nodeIp(),
                "tokenConfigured", config.security().token().isPresent()));
        Map<String, Object> drain = new LinkedHashMap<>();
        drain.put("budget", Durations.format(config.drain().budget()));
        drain.put("safetyMargin", Durations.format(config.drain().safetyMargin()));
        drain.put("propagationDelay", Durations.format(config.drain().propagationDelay()));
        AgentConfig.PropagationSettings propagation = config.drain().propagation();
        drain.put("propagation", Map.of("mode", propagation.mode().name().toLowerCase(Locale.ROOT), "ports", propagation.ports(),
                "quietPeriod", Durations.format(propagation.quietPeriod()), "minimum", Durations.format(propagation.minimum()),
                "maximum", Durations.format(propagation.maximum()), "keepAliveWait", Durations.format(propagation.keepAliveWait()),
                "waitForIngresses", propagation.waitForIngresses()));
        drain.put("withdraw", Map.of("strategy", config.drain().withdraw().strategy().configName(),
                "timeout", Durations.format(config.drain().withdraw().timeout()),
                "lastServingEndpoint", config.drain().withdraw().lastServingEndpoint().name().toLowerCase(Locale.ROOT)));
        drain.put("hooks", config.drain().hooks().stream().map(h -> Map.of(
                "name", h.common().name(), "type", h.kind(), "priority", h.common().priority(),
                "timeout", Durations.format(h.common().timeout()))).toList());
        summary.put("drain", drain);
        summary.put("metrics", config.metrics());
        summary.put("kube", Map.of("mode", config.kube().mode().name().toLowerCase(Locale.ROOT), "events", config.kube().events()));
        return summary;
    }

    /** The application ports that propagation and wait-idle hooks watch: their connections are exported as a gauge. */
    private static Set<Integer> appPorts(AgentConfig config) {
        Set<Integer> ports = config.drain().hooks().stream()
                .filter(AgentConfig.WaitIdleHook.class::isInstance)
                .flatMap(hook -> ((AgentConfig.WaitIdleHook) hook).ports().stream())
                .collect(Collectors.toCollection(TreeSet::new));
        ports.addAll(config.drain().propagation().ports());
        return ports;
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /** Logs every finished drain as one JSON line carrying the whole report. */
    private static final class ReportLogger implements DrainListener {
        @Override
        public void drainFinished(DrainReport report) {
            LOG.atInfo().addKeyValue("drainReport", new RawJson(Json.write(report))).log(report.summary());
        }
    }
}
