package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.lameduck.config.AgentConfig.LastServingEndpoint;
import io.lameduck.drain.Withdrawal;
import io.lameduck.drain.WithdrawalReport;
import io.lameduck.time.Deadline;
import io.lameduck.time.Durations;
import io.lameduck.time.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A withdrawal through the Kubernetes API, verified on EndpointSlices:
 *
 * <ol>
 *   <li>read the pod (its labels pick the Services to verify on) and look at those Services
 *       ({@link EndpointVerifier#select}): one with {@code publishNotReadyAddresses: true} keeps the pod's
 *       endpoint ready whatever its readiness, so only {@code label} can withdraw there (otherwise it is warned
 *       about and not waited for); one in which no other pod serves would be left with no endpoint (warned, Event
 *       {@code LastServingEndpoint}; with {@code lastServingEndpoint: keep} nothing is flipped);
 *   <li>flip the {@link ServingSwitch} (label or readiness gate; nothing for {@code probe}, where the
 *       kubelet's readiness probe does the work);
 *   <li>when asked to, find the Ingresses routing to those Services ({@link IngressRoutes}): the drain then counts
 *       the requests on keep-alive connections until they stop, as those controllers send on pooled connections
 *       until they apply the change (a failed lookup is a warning in the report; the drain keeps
 *       {@code keepAliveWait});
 *   <li>wait, bounded by the timeout, until no EndpointSlice lists the pod as serving ({@link EndpointVerifier}),
 *       noting when {@code ready=false} and {@code serving=false} were first seen.
 * </ol>
 *
 * Outcomes: CONFIRMED with the latency; TIMED_OUT when the slices still list the pod as serving at the timeout;
 * DEGRADED when the flip itself failed (API unreachable, 403, a pod without the readiness gate): the
 * agent's failing {@code /readyz} and the full propagation delay are then all that remains; UNVERIFIED when
 * the flip succeeded (or there is none) but the slices could not be read, or the pod was kept as the last
 * serving endpoint. Every attempt is observed in {@code lameduck_withdrawal_duration_seconds}.
 */
final class VerifiedWithdrawal implements Withdrawal {
    private static final Logger LOG = LoggerFactory.getLogger(VerifiedWithdrawal.class);
    static final String LAST_SERVING_ENDPOINT = "LastServingEndpoint";
    static final String PUBLISH_NOT_READY = "PublishNotReadyAddresses";
    /** The longest the Ingress lookup may take of the withdrawal's time: it is one small list. */
    static final Duration INGRESS_LOOKUP_LIMIT = Duration.ofSeconds(2);

    /** Where warnings go besides the log and the report: an Event reason and message. */
    @FunctionalInterface
    interface Warnings {
        void warn(String reason, String message);
    }

    private final String strategy;
    private final Optional<ServingSwitch> servingSwitch;
    private final OwnPod pod;
    private final EndpointVerifier verifier;
    private final Optional<IngressRoutes> ingresses;
    private final KubeMetrics metrics;
    private final Duration restoreTimeout;
    private final LastServingEndpoint lastServingEndpoint;
    private final Warnings warnings;
    private final Ticker ticker;
    private final Clock clock;

    VerifiedWithdrawal(String strategy, Optional<ServingSwitch> servingSwitch, OwnPod pod, EndpointVerifier verifier,
            Optional<IngressRoutes> ingresses, KubeMetrics metrics, Duration restoreTimeout, LastServingEndpoint lastServingEndpoint, Warnings warnings,
            Ticker ticker, Clock clock) {
        this.strategy = strategy;
        this.servingSwitch = servingSwitch;
        this.pod = pod;
        this.verifier = verifier;
        this.ingresses = ingresses;
        this.metrics = metrics;
        this.restoreTimeout = restoreTimeout;
        this.lastServingEndpoint = lastServingEndpoint;
        this.warnings = warnings;
        this.ticker = ticker;
        this.clock = clock;
    }

    @Override
    public String strategy() {
        return strategy;
    }

    @Override
    public Result restore() {
        if (servingSwitch.isEmpty()) {
            return new Result(Status.UNVERIFIED, "probe: /readyz answers 200 again");
        }
        ServingSwitch flip = servingSwitch.get();
        try {
            flip(flip, true, Deadline.after(restoreTimeout, ticker, clock));
            return new Result(Status.UNVERIFIED, strategy + ": " + flip.describe(true)
                    + " (the pod rejoins endpoints once it is Ready; not verified)");
        } catch (ApiException e) {
            LOG.warn("{}: could not restore {}: {}", strategy, flip.describe(true), e.getMessage());
            return new Result(Status.DEGRADED, strategy + ": could not set " + flip.describe(true) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Status.DEGRADED, strategy + ": interrupted while setting " + flip.describe(true));
        }
    }

    @Override
    public Result withdraw(Duration timeout) throws InterruptedException {
        long start = ticker.nanoTime();
        Instant startedAt = clock.instant();
        Deadline deadline = Deadline.after(timeout, ticker, clock);
        Result result = attempt(deadline, start, startedAt);
        Duration took = Duration.ofNanos(ticker.nanoTime() - start);
        metrics.withdrawal(strategy, result.confirmed(), took);
        LOG.info("withdrawal ({}): {} {}", strategy, result.status(), result.detail());
        return result;
    }

    /**
     * The warnings about the Services selecting the pod, as start-up logs them: empty when there is nothing to
     * say or the Services cannot be read.
     */
    List<String> startupWarnings(Pod current, Deadline deadline) throws InterruptedException {
        try {
            EndpointVerifier.Selection selection = verifier.select(current, servingLabels(current), deadline);
            List<String> found = new ArrayList<>(publishNotReadyWarnings(selection));
            selection.noOtherServing().forEach(service -> found.add("Service " + service
                    + " has no serving endpoint besides this pod: withdrawing it (every drain, every maintenance) leaves "
                    + service + " with none (drain.withdraw.lastServingEndpoint: " + configName(lastServingEndpoint) + ")"));
            return found;
        } catch (ApiException e) {
            return List.of();
        }
    }

    private Result attempt(Deadline deadline, long start, Instant startedAt) throws InterruptedException {
        Pod before;
        try {
            before = pod.get(deadline.remaining());
        } catch (ApiException e) {
            if (servingSwitch.isEmpty()) {
                return new Result(Status.UNVERIFIED, "probe: /readyz answers 503; cannot verify on EndpointSlices: " + e.getMessage());
            }
            return new Result(Status.DEGRADED, strategy + ": " + e.getMessage() + "; fell back to probe (/readyz answers 503) "
                    + "plus the full propagation delay");
        }
        EndpointVerifier.Selection selection;
        try {
            selection = verifier.select(before, servingLabels(before), deadline);
        } catch (ApiException e) {
            if (servingSwitch.isEmpty()) {
                return new Result(Status.UNVERIFIED, "probe: /readyz answers 503; cannot verify on EndpointSlices: " + e.getMessage());
            }
            return flipUnverified(deadline, e);
        }
        List<String> warned = new ArrayList<>(publishNotReadyWarnings(selection));
        warned.forEach(w -> warnings.warn(PUBLISH_NOT_READY, w));
        List<String> last = selection.noOtherServing().stream().filter(s -> !excluded(selection).contains(s)).toList();
        if (!last.isEmpty()) {
            boolean keep = lastServingEndpoint == LastServingEndpoint.KEEP;
            String warning = "the pod is the last serving endpoint of Service" + (last.size() == 1 ? " " : "s ") + String.join(", ", last)
                    + (keep ? ": kept in endpoints (drain.withdraw.lastServingEndpoint: keep)"
                            : ": withdrawing it leaves " + (last.size() == 1 ? "it" : "them") + " with none (drain.withdraw.lastServingEndpoint: withdraw)");
            warned.add(warning);
            warnings.warn(LAST_SERVING_ENDPOINT, warning);
            LOG.warn("{}: {}", strategy, warning);
            if (keep) {
                return new Result(Status.UNVERIFIED, strategy + ": not withdrawn: " + warning
                        + "; /readyz answers 503, so the pod leaves when its readiness probe fails",
                        report(Optional.empty(), Optional.empty(), startedAt, warned, List.of()));
            }
        }
        String flipped;
        try {
            if (servingSwitch.isPresent()) {
                flip(servingSwitch.get(), false, deadline);
                flipped = servingSwitch.get().describe(false);
            } else {
                flipped = "/readyz answers 503";
            }
        } catch (ApiException e) {
            return new Result(Status.DEGRADED, strategy + ": " + e.getMessage() + "; fell back to probe (/readyz answers 503) "
                    + "plus the full propagation delay", report(Optional.empty(), Optional.empty(), startedAt, warned, List.of()));
        }
        List<String> routes = ingressesRoutingTo(selection.services(), deadline, warned);
        List<String> verifiable = selection.services().stream().filter(s -> !excluded(selection).contains(s)).toList();
        try {
            EndpointVerifier.Verification seen = verifier.awaitWithdrawn(before, verifiable, deadline);
            String took = Durations.seconds(Duration.ofNanos(ticker.nanoTime() - start));
            WithdrawalReport report = report(seen.readyFalseAfter(), seen.servingFalseAfter(), startedAt, warned, routes);
            if (seen.confirmed()) {
                return new Result(Status.CONFIRMED, strategy + ": " + flipped + "; confirmed after " + took + ": " + seen.describe(), report);
            }
            return new Result(Status.TIMED_OUT, strategy + ": " + flipped + "; not confirmed within " + took
                    + " (drain.withdraw.timeout): " + seen.describe(), report);
        } catch (ApiException e) {
            return new Result(Status.UNVERIFIED, strategy + ": " + flipped + "; cannot verify on EndpointSlices: " + e.getMessage(),
                    report(Optional.empty(), Optional.empty(), startedAt, warned, routes));
        }
    }

    /**
     * The Ingresses routing to {@code services} ({@link IngressRoutes}), when asked to look; a lookup that fails adds
     * a warning to {@code warned} and finds none. Done after the flip, so it never delays the withdrawal itself.
     */
    private List<String> ingressesRoutingTo(List<String> services, Deadline deadline, List<String> warned) throws InterruptedException {
        if (ingresses.isEmpty()) {
            return List.of();
        }
        try {
            IngressRoutes.Found found = ingresses.get().routingTo(services, OwnPod.min(deadline.remaining(), INGRESS_LOOKUP_LIMIT));
            found.note().ifPresent(warned::add);
            return found.routes();
        } catch (ApiException e) {
            String warning = "cannot tell which Ingresses route to the pod: " + e.getMessage() + "; requests on open connections count "
                    + "only drain.propagation.keepAliveWait, so an ingress controller applying the change later can lose requests "
                    + "(or set drain.propagation.waitForIngresses: false to do without the lookup)";
            LOG.warn("{}: {}", strategy, warning);
            warned.add(warning);
            return List.of();
        }
    }

    /** The Services could not be read: flip anyway (withdrawing beats guessing), unverified. */
    private Result flipUnverified(Deadline deadline, ApiException readFailure) throws InterruptedException {
        ServingSwitch flip = servingSwitch.orElseThrow();
        try {
            flip(flip, false, deadline);
            return new Result(Status.UNVERIFIED, strategy + ": " + flip.describe(false) + "; cannot verify on EndpointSlices: "
                    + readFailure.getMessage());
        } catch (ApiException e) {
            return new Result(Status.DEGRADED, strategy + ": " + e.getMessage() + "; fell back to probe (/readyz answers 503) "
                    + "plus the full propagation delay");
        }
    }

    /** Services where this strategy cannot withdraw the pod: those publishing not-ready addresses, unless by label. */
    private List<String> excluded(EndpointVerifier.Selection selection) {
        return servingSwitch.orElse(null) instanceof ServingSwitch.Label ? List.of() : selection.publishNotReadyAddresses();
    }

    private List<String> publishNotReadyWarnings(EndpointVerifier.Selection selection) {
        return excluded(selection).stream().map(service -> "Service " + service + " has publishNotReadyAddresses: true, so its "
                + "endpoint for this pod stays ready whatever the pod's readiness; strategy " + strategy
                + " cannot withdraw it there (not waited for); only drain.withdraw.strategy: label can").toList();
    }

    private WithdrawalReport report(Optional<Duration> readyFalse, Optional<Duration> servingFalse, Instant startedAt, List<String> warned,
            List<String> routes) {
        if (readyFalse.isEmpty() && servingFalse.isEmpty() && warned.isEmpty() && routes.isEmpty()) {
            return null;
        }
        return new WithdrawalReport(readyFalse.map(startedAt::plus).orElse(null), readyFalse.map(VerifiedWithdrawal::seconds).orElse(null),
                servingFalse.map(startedAt::plus).orElse(null), servingFalse.map(VerifiedWithdrawal::seconds).orElse(null), warned, routes);
    }

    private static Double seconds(Duration duration) {
        return duration.toNanos() / 1e9;
    }

    private static String configName(LastServingEndpoint value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    private Map<String, String> servingLabels(Pod current) {
        return servingSwitch.map(f -> f.servingLabels(current)).orElse(labelsOf(current));
    }

    private static Map<String, String> labelsOf(Pod pod) {
        return pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
    }

    /** Sets the switch; returns the pod as it was before (the labels that picked its Services). */
    private Pod flip(ServingSwitch flip, boolean serving, Deadline deadline) throws ApiException, InterruptedException {
        AtomicReference<Pod> before = new AtomicReference<>();
        AtomicReference<String> problem = new AtomicReference<>();
        pod.patch(flip.target(), current -> {
            before.compareAndSet(null, current);
            Optional<String> cannot = flip.problem(current);
            cannot.ifPresent(problem::set);
            return cannot.isPresent() ? Optional.empty() : flip.patchFor(current, serving);
        }, deadline);
        if (problem.get() != null) {
            throw new ApiException(ApiException.Kind.OTHER, problem.get(), null);
        }
        return before.get();
    }
}
