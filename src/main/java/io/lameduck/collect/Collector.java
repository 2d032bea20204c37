package io.lameduck.collect;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lameduck.collect.LedgerStore.StoreException;
import io.lameduck.kube.DrainReportEvent;
import io.lameduck.time.TimeSource;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet collector's work: load the persisted state, count every report Event ({@link EventFeed}: drains and the
 * ends of restart cycles) into the
 * {@link FleetLedger}, and write the state back whenever it changed, at most every {@code writeEvery}. A report is
 * acknowledged once its count is written: a crash before that loses nothing, because the Event is still there and is
 * counted again from the last written state when the collector lists on its next start.
 */
public final class Collector implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Collector.class);
    public static final Duration WRITE_EVERY = Duration.ofSeconds(1);

    private final LedgerStore store;
    private final FleetLedger ledger;
    private final CollectorMetrics metrics;
    private final TimeSource time;
    private final Duration writeEvery;
    private final EventFeed feed;
    private final Object writing = new Object();
    private volatile boolean listed;
    private volatile boolean closed;
    private long written;
    private Thread writer;

    Collector(KubernetesClient client, LedgerStore store, FleetLedger ledger, PrometheusRegistry registry, TimeSource time,
            Duration writeEvery) {
        this.store = store;
        this.ledger = ledger;
        this.metrics = new CollectorMetrics(registry, ledger);
        this.time = time;
        this.writeEvery = writeEvery;
        this.feed = new EventFeed(client, this::count, () -> listed = true, time);
        registry.register(new FleetMetrics(ledger));
    }

    /**
     * The most workloads {@code --max-workloads} may track one by one. The state keeps every tracked workload's totals
     * in one ConfigMap (at most 1 MiB): at 2,000 workloads with long names and every step's histogram filled, plus the
     * remembered Event uids and recent terminations at their bounds, it is about 660 KiB gzipped (CollectorBoundsTest);
     * 5,000 measured 750 KiB, too close to the limit once names are longer than the test's.
     */
    public static final int MAX_WORKLOADS = 2_000;

    /** A collector keeping its state in ConfigMap {@code namespace/configMap}. */
    public static Collector create(KubernetesClient client, String namespace, String configMap, int maxWorkloads, int recent,
            PrometheusRegistry registry) {
        FleetLedger.Bounds bounds = new FleetLedger.Bounds(maxWorkloads, recent, FleetLedger.Bounds.DEFAULT.maxRecent(),
                FleetLedger.Bounds.DEFAULT.maxSeen(), FleetLedger.Bounds.DEFAULT.retention());
        return new Collector(client, new ConfigMapLedgerStore(client, namespace, configMap), new FleetLedger(bounds, TimeSource.SYSTEM.wallClock()),
                registry, TimeSource.SYSTEM, WRITE_EVERY);
    }

    /** Loads the state (a state it cannot read stops the start: counting from zero over it would lose it), then counts. */
    public void start() throws StoreException {
        try {
            store.load().ifPresentOrElse(state -> {
                ledger.restore(state);
                LOG.info("collector state loaded: {} workloads, {} counted Events remembered", ledger.workloads(), ledger.seen());
            }, () -> LOG.info("no collector state yet: counting from zero"));
        } catch (IllegalArgumentException e) {
            throw new StoreException("the collector state cannot be used: " + e.getMessage(), false, e);
        }
        feed.start();
        writer = time.start("lameduck-collector-writer", this::writeLoop);
    }

    /** Ready once the state is loaded and every report Event already on the API server was counted. */
    public boolean ready() {
        return listed && !closed;
    }

    /** The most recent terminations first; {@code namespace} and {@code workload} null for any. */
    public List<Termination> recent(String namespace, String workload, int limit) {
        return ledger.recent(namespace, workload, limit);
    }

    private void count(Event event) {
        try {
            metrics.report(ledger.record(parse(event)).label());
        } catch (InvalidReportException e) {
            metrics.report("invalid");
            LOG.warn("report Event not counted: {}", e.getMessage());
        }
    }

    /** A report of the kind its label names: a drain's, or a restart cycle's end. */
    static Report parse(Event event) throws InvalidReportException {
        Map<String, String> labels = event.getMetadata().getLabels();
        return labels != null && DrainReportEvent.RESTART_KIND.equals(labels.get(DrainReportEvent.REPORT_LABEL))
                ? RestartCycleParser.parse(event) : TerminationParser.parse(event);
    }

    private void writeLoop() {
        while (!closed) {
            try {
                time.sleep(writeEvery);
            } catch (InterruptedException e) {
                return;
            }
            write();
        }
    }

    /** Writes the state if something was counted since the last write. */
    void write() {
        synchronized (writing) {
            long changes = ledger.changes();
            if (changes == written) {
                return;
            }
            try {
                int bytes = store.save(ledger.state());
                written = changes;
                metrics.written(bytes, time.instant());
            } catch (StoreException e) {
                metrics.writeFailed(e.conflict());
                LOG.warn("collector state not written: {}", e.getMessage());
                if (e.conflict()) {
                    reload();
                }
            }
        }
    }

    /** After a conflict: the written state wins; the Events are counted again against it. */
    private void reload() {
        try {
            ledger.restore(store.load().orElseThrow(() -> new StoreException("the state ConfigMap is gone", false, null)));
            written = ledger.changes();
            feed.relist("the state was reloaded after a conflict");
        } catch (StoreException | IllegalArgumentException e) {
            LOG.warn("reloading the collector state failed: {}; retrying at the next write", e.getMessage());
        }
    }

    /** Stops counting and writes what was counted. */
    @Override
    public void close() {
        closed = true;
        feed.close();
        if (writer != null) {
            writer.interrupt();
        }
        write();
    }
}
