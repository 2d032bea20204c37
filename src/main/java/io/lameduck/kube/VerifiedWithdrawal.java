package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.lameduck.config.Durations;
import io.lameduck.drain.Deadline;
import io.lameduck.drain.Ticker;
import io.lameduck.drain.Withdrawal;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A withdrawal through the Kubernetes API, verified on EndpointSlices:
 *
 * <ol>
 *   <li>read the pod (its labels pick the Services to verify on);
 *   <li>flip the {@link ServingSwitch} (label or readiness gate; nothing for {@code probe}, where the
 *       kubelet's readiness probe does the work);
 *   <li>wait, bounded by the timeout, until no EndpointSlice lists the pod as ready ({@link EndpointVerifier}).
 * </ol>
 *
 * Outcomes: CONFIRMED with the latency; TIMED_OUT when the slices still list the pod at the timeout;
 * DEGRADED when the flip itself failed (API unreachable, 403, a pod without the readiness gate): the
 * agent's failing {@code /readyz} and the full propagation delay are then all that remains; UNVERIFIED when
 * the flip succeeded (or there is none) but the slices could not be read. Every attempt is observed in
 * {@code lameduck_withdrawal_duration_seconds}.
 */
final class VerifiedWithdrawal implements Withdrawal {
    private static final Logger LOG = LoggerFactory.getLogger(VerifiedWithdrawal.class);

    private final String strategy;
    private final Optional<ServingSwitch> servingSwitch;
    private final OwnPod pod;
    private final EndpointVerifier verifier;
    private final KubeMetrics metrics;
    private final Duration restoreTimeout;
    private final Ticker ticker;
    private final Clock clock;

    VerifiedWithdrawal(String strategy, Optional<ServingSwitch> servingSwitch, OwnPod pod, EndpointVerifier verifier,
            KubeMetrics metrics, Duration restoreTimeout, Ticker ticker, Clock clock) {
        this.strategy = strategy;
        this.servingSwitch = servingSwitch;
        this.pod = pod;
        this.verifier = verifier;
        this.metrics = metrics;
        this.restoreTimeout = restoreTimeout;
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
        Deadline deadline = Deadline.after(timeout, ticker, clock);
        Result result = attempt(deadline, start);
        Duration took = Duration.ofNanos(ticker.nanoTime() - start);
        metrics.withdrawal(strategy, result.confirmed(), took);
        LOG.info("withdrawal ({}): {} {}", strategy, result.status(), result.detail());
        return result;
    }

    private Result attempt(Deadline deadline, long start) throws InterruptedException {
        Pod before;
        String flipped;
        try {
            if (servingSwitch.isPresent()) {
                before = flip(servingSwitch.get(), false, deadline);
                flipped = servingSwitch.get().describe(false);
            } else {
                before = pod.get(deadline.remaining());
                flipped = "/readyz answers 503";
            }
        } catch (ApiException e) {
            if (servingSwitch.isEmpty()) {
                return new Result(Status.UNVERIFIED, "probe: /readyz answers 503; cannot verify on EndpointSlices: " + e.getMessage());
            }
            return new Result(Status.DEGRADED, strategy + ": " + e.getMessage() + "; fell back to probe (/readyz answers 503) "
                    + "plus the full propagation delay");
        }
        try {
            EndpointVerifier.Verification seen = verifier.awaitWithdrawn(before, servingSwitch.map(f -> f.servingLabels(before)).orElse(labelsOf(before)), deadline);
            String took = Durations.seconds(Duration.ofNanos(ticker.nanoTime() - start));
            if (seen.confirmed()) {
                return new Result(Status.CONFIRMED, strategy + ": " + flipped + "; confirmed after " + took + ": " + seen.describe());
            }
            return new Result(Status.TIMED_OUT, strategy + ": " + flipped + "; not confirmed within " + took
                    + " (drain.withdraw.timeout): " + seen.describe());
        } catch (ApiException e) {
            return new Result(Status.UNVERIFIED, strategy + ": " + flipped + "; cannot verify on EndpointSlices: " + e.getMessage());
        }
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
