package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventList;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lameduck.drain.Cause;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the kubelet is evicting the agent's pod, from the Events it records on the pod. A kubelet eviction deletes
 * nothing: the pod shows phase Failed, reason Evicted and (for node pressure) the DisruptionTarget condition only once all
 * its containers have stopped, so at the preStop and the SIGTERM the one early fact is the kubelet's Event, recorded
 * before it kills the pod (kubelet v1.34 eviction_manager.go evictPod): reason {@code Evicted} (node pressure, an
 * emptyDir over its sizeLimit, an ephemeral-storage limit).
 * An Event is written asynchronously, so a read right at the kill may miss it; the agent asks again at the drain's
 * budget read.
 */
final class KubeletEviction {
    private static final Logger LOG = LoggerFactory.getLogger(KubeletEviction.class);
    /**
     * The Event reason of the kubelet's evictions (pkg/kubelet/eviction/helpers.go). Not {@code Preempting}: the kubelet's
     * critical-pod preemption gives the pod its whole grace period, which the 2 s budget below would cut short.
     */
    static final Set<String> REASONS = Set.of("Evicted");
    /**
     * The time the kubelet gives the agent of an evicted pod: evictions use a zero grace period, which the pod worker
     * raises to 1 s; the agent container has no preStop, so it gets SIGTERM at once, alongside the app's preStop, and
     * SIGKILL 2 s later (kuberuntime's minimumGracePeriodInSeconds). A soft eviction with evictionMaxPodGracePeriod set
     * gives more, which the agent cannot see.
     */
    static final Duration GRACE = Duration.ofSeconds(2);
    /**
     * What an eviction's drain leaves of {@link #GRACE} for the agent itself: answering the preStop, writing the report
     * and closing the listener before the SIGKILL.
     */
    static final Duration AGENT_STOP = Duration.ofMillis(500);
    static final Duration READ_LIMIT = Duration.ofSeconds(1);
    /** The Events of one pod are few; more than this are not read. */
    private static final long MAX_EVENTS = 100;

    private final KubernetesClient client;
    private final OwnPod pod;
    private final ApiCalls api;
    private volatile boolean known; // once seen, for good: an evicted pod never comes back

    KubeletEviction(KubernetesClient client, OwnPod pod, ApiCalls api) {
        this.client = client;
        this.pod = pod;
        this.api = api;
    }

    /**
     * The kubelet's eviction Event on this pod, as the cause {@code kubelet-eviction} with detail
     * {@code Evicted: <message>}; empty when there is none, or the Events cannot be read in time (e.g. the Role lacks
     * {@code list events}: logged at debug, the RBAC check at start-up says it).
     */
    Optional<Cause> read() {
        String uid = pod.lastUid();
        try {
            EventList events = api.call("list", "events", READ_LIMIT, () -> client.v1().events().inNamespace(pod.identity().namespace())
                    .withField("involvedObject.name", pod.identity().name())
                    .list(new ListOptionsBuilder().withLimit(MAX_EVENTS).build()));
            return events.getItems().stream()
                    .filter(e -> REASONS.contains(e.getReason()))
                    .filter(e -> uid == null || e.getInvolvedObject() == null || uid.equals(e.getInvolvedObject().getUid()))
                    .max(Comparator.comparing(KubeletEviction::when))
                    .map(event -> {
                        known = true;
                        return describe(event);
                    });
        } catch (ApiException e) {
            LOG.debug("cannot read the Events of pod {} to tell an eviction: {}", pod.identity(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Optional.empty();
    }

    /** Whether a read has found the kubelet evicting the pod. */
    boolean known() {
        return known;
    }

    private static String when(Event event) {
        String at = event.getLastTimestamp() != null ? event.getLastTimestamp()
                : event.getEventTime() != null ? event.getEventTime().getTime() : event.getMetadata().getCreationTimestamp();
        return at == null ? "" : at;
    }

    /** Unbounded here: {@link Cause} bounds it. */
    private static Cause describe(Event event) {
        return new Cause(Cause.Kind.KUBELET_EVICTION, event.getReason() + (event.getMessage() == null ? "" : ": " + event.getMessage().strip()));
    }
}
