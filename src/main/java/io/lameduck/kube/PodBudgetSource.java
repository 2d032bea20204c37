package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.lameduck.drain.BudgetSource;
import io.lameduck.drain.Cause;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The drain budget from the pod itself, re-read on every call: the time left until
 * {@code metadata.deletionTimestamp} (the real deadline of a pod being deleted), else
 * {@code spec.terminationGracePeriodSeconds}, else the configured {@code drain.budget}. A failed read
 * falls back to the configured budget and says so in the source.
 */
final class PodBudgetSource implements BudgetSource {
    private static final Logger LOG = LoggerFactory.getLogger(PodBudgetSource.class);
    /** Reading the budget happens when a drain starts: it must not hold the drain up for long. */
    static final Duration READ_LIMIT = Duration.ofSeconds(2);

    private final OwnPod pod;
    private final Duration configured;
    private final Clock clock;
    private final Supplier<Optional<Cause>> eviction;

    /** @param eviction the kubelet's eviction Event on the pod, if any (asked only when the pod is not being deleted) */
    PodBudgetSource(OwnPod pod, Duration configured, Clock clock, Supplier<Optional<Cause>> eviction) {
        this.pod = pod;
        this.configured = configured;
        this.clock = clock;
        this.eviction = eviction;
    }

    @Override
    public Budget budget() {
        Pod current;
        try {
            current = pod.get(READ_LIMIT);
        } catch (ApiException e) {
            LOG.warn("drain budget: cannot read the pod ({}); using drain.budget", e.getMessage());
            return new Budget(configured, "drain.budget (pod not readable: " + e.kind().name().toLowerCase(Locale.ROOT) + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Budget(configured, "drain.budget (interrupted while reading the pod)");
        }
        if (current.getMetadata().getDeletionTimestamp() == null) {
            Optional<Cause> evicted = eviction.get();
            if (evicted.isPresent()) {
                return evicted(current, evicted.get());
            }
        }
        return of(current, configured, clock.instant());
    }

    /**
     * A pod the kubelet evicts gets {@link KubeletEviction#GRACE}, not its terminationGracePeriodSeconds: a deadline from
     * those would outlive the agent, which the kubelet kills 2 s after its SIGTERM, and the report would never be written
     * (seen on the real node). Of those 2 s the drain leaves only {@link KubeletEviction#AGENT_STOP}, not
     * drain.safetyMargin: the app's time to stop is not in them (the kubelet waits at most 1 s for the app's preStop and
     * then gives the app 2 s of its own), and a drain that ended at once let the app be SIGTERMed while kube-proxy still
     * routed to it (EvictionOnNodeTest: 10 refused connections in a CI run).
     */
    static Budget evicted(Pod pod, Cause eviction) {
        Long grace = pod.getSpec() == null ? null : pod.getSpec().getTerminationGracePeriodSeconds();
        Duration total = grace != null && Duration.ofSeconds(grace).compareTo(KubeletEviction.GRACE) < 0
                ? Duration.ofSeconds(grace) : KubeletEviction.GRACE;
        return new Budget(total, "kubelet eviction (Event " + eviction.detail() + "): the kubelet SIGTERMs the agent at once and"
                + " kills it 2 s later; budget", Optional.of(KubeletEviction.AGENT_STOP), Optional.of(eviction));
    }

    /**
     * The deletion's deadline or the pod's grace period, with the pod's {@code DisruptionTarget} as the cause when it has
     * one (set before the deletion by the Eviction API, the scheduler's preemption, the taint manager, pod GC).
     */
    static Budget of(Pod pod, Duration configured, Instant now) {
        Optional<Cause> cause = PodFactsOf.disruption(pod);
        String deletion = pod.getMetadata().getDeletionTimestamp();
        if (deletion != null) {
            Instant deadline = Instant.parse(deletion);
            Duration left = Duration.between(now, deadline);
            return new Budget(left.isNegative() ? Duration.ZERO : left, "pod deletionTimestamp " + deletion, Optional.empty(), cause);
        }
        Long grace = pod.getSpec() == null ? null : pod.getSpec().getTerminationGracePeriodSeconds();
        if (grace != null) {
            return new Budget(Duration.ofSeconds(grace), "pod terminationGracePeriodSeconds", Optional.empty(), cause);
        }
        return new Budget(configured, "drain.budget", Optional.empty(), cause);
    }
}
