package io.lameduck.drain.hooks;

import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.drain.HookFailedException;
import io.lameduck.sockets.TcpConnection;
import io.lameduck.sockets.TcpConnectionTable;
import io.lameduck.time.Durations;
import io.lameduck.time.TimeSource;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits until the application is idle: no ESTABLISHED connection on any of {@code ports} (peers inside
 * {@code ignorePeers} excepted, e.g. the kubelet's probes) continuously for {@code quietPeriod}, checked every
 * {@code pollInterval}. It fails, naming the remaining peers, when the budget runs out first. It measures and waits on
 * the {@link TimeSource} it is given ({@link TimeSource#SYSTEM} in the agent), so tests run it on simulated time.
 */
final class WaitIdleDrainHook extends AbstractDrainHook {
    /** How many remaining peers a message names; a busy server may have thousands. */
    private static final int PEERS_SHOWN = 5;
    private static final Logger LOG = LoggerFactory.getLogger(WaitIdleDrainHook.class);

    private final WaitIdleHook spec;
    private final Set<Integer> ports;
    private final TcpConnectionTable table;
    private final TimeSource time;

    WaitIdleDrainHook(WaitIdleHook spec, TcpConnectionTable table, TimeSource time) {
        super(spec);
        this.spec = spec;
        this.ports = Set.copyOf(spec.ports());
        this.table = table;
        this.time = time;
    }

    @Override
    public void run(Duration budget) throws HookFailedException, InterruptedException {
        long start = time.nanoTime();
        long quietSince = -1;
        List<TcpConnection> busy = List.of();
        try {
            while (true) {
                List<TcpConnection> previous = busy;
                busy = connections();
                long now = time.nanoTime();
                if (busy.isEmpty()) {
                    if (quietSince < 0) {
                        quietSince = now;
                        LOG.debug("{}: no connections on ports {}, waiting for {} of quiet", this, spec.ports(), Durations.format(spec.quietPeriod()));
                    }
                    if (now - quietSince >= spec.quietPeriod().toNanos()) {
                        return;
                    }
                } else {
                    quietSince = -1;
                    if (busy.size() != previous.size()) {
                        LOG.debug("{}: {}", this, describe(busy));
                    }
                }
                long budgetLeft = start + budget.toNanos() - now;
                if (budgetLeft <= 0) {
                    throw new HookFailedException("still not idle after " + Durations.format(budget) + ": "
                            + (busy.isEmpty() ? "connections closed only in the last " + Durations.format(Duration.ofNanos(now - quietSince))
                                    + ", less than the quiet period " + Durations.format(spec.quietPeriod()) : describe(busy)));
                }
                time.sleep(Duration.ofNanos(nextPoll(now, quietSince, budgetLeft)));
            }
        } catch (InterruptedException e) {
            LOG.info("{}: cancelled while {}", this, busy.isEmpty() ? "waiting for the quiet period" : describe(busy));
            throw e;
        }
    }

    /** The next check comes after one poll interval, or sooner if the quiet period or the budget ends before. */
    private long nextPoll(long now, long quietSince, long budgetLeft) {
        long wait = Math.min(spec.pollInterval().toNanos(), budgetLeft);
        if (quietSince >= 0) {
            wait = Math.min(wait, quietSince + spec.quietPeriod().toNanos() - now);
        }
        return Math.max(0, wait);
    }

    /** The ESTABLISHED connections to our ports from peers we do not ignore. */
    private List<TcpConnection> connections() throws HookFailedException {
        List<TcpConnection> all;
        try {
            all = table.read();
        } catch (IOException e) {
            throw new HookFailedException("cannot read the TCP connection table: " + e.getMessage(), e);
        }
        List<TcpConnection> busy = new ArrayList<>();
        for (TcpConnection connection : all) {
            if (connection.isEstablished() && ports.contains(connection.localPort()) && !connection.peerIn(spec.ignorePeers())) {
                busy.add(connection);
            }
        }
        return busy;
    }

    private String describe(List<TcpConnection> busy) {
        String peers = busy.stream().limit(PEERS_SHOWN).map(c -> c.peer() + " on port " + c.localPort()).collect(Collectors.joining(", "));
        String more = busy.size() > PEERS_SHOWN ? ", ..." : "";
        return busy.size() + " established connection(s) remain (" + peers + more + ")"
                + (spec.ignorePeers().isEmpty() ? "" : "; peers in " + spec.ignorePeers() + " are not counted");
    }
}
