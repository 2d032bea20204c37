package io.lameduck.drain;

import io.lameduck.sockets.AppConnections;
import io.lameduck.time.Deadline;
import io.lameduck.time.Durations;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The {@code quiet} propagate step: ends once the traffic that counts has been silent long enough to be evidence (see
 * {@link Propagation}), and never after {@code maximum}. Three endings: the traffic stopped (completed); it was still
 * arriving at the maximum or the deadline (timed out, naming the peers, with a WARN: the app now stops under their
 * traffic); the table could not be read (the maximum waited instead).
 */
final class QuietPropagation extends Propagation {
    QuietPropagation(Rules rules, Duration pollInterval, AppConnections connections, Optional<RecentAccepts> accepts, TimeSource time) {
        super(rules, pollInterval, Optional.of(connections), accepts, time);
    }

    @Override
    StepResult await(Deadline deadline, Watch watch, Consumer<TrafficReport> onTraffic) throws InterruptedException {
        Deadline.Grant grant = deadline.grant(maximum);
        long start = time.nanoTime();
        watch.withdrawn(start);
        Judgement judgement = pollUntil(watch, start, grant.time(), Judgement::stopped);
        Seen seen = finish(watch, start, judgement, onTraffic);
        if (judgement == null) {
            String detail = "waited " + seen.waited() + seen.traffic();
            return grant.cutByDeadline() ? StepResult.timedOut(grant, detail, null)
                    : StepResult.failed(detail, watch.error() + "; waited the maximum " + Durations.format(maximum) + " instead");
        }
        if (judgement.stopped()) {
            return StepResult.completed("traffic stopped: silent for " + Durations.format(judgement.required()) + " ("
                    + judgement.rule() + "), " + seen.waited() + " after the withdrawal" + seen.traffic());
        }
        String why = "traffic was still arriving " + (grant.cutByDeadline() ? "at the drain deadline" : "at the maximum " + Durations.format(maximum))
                + " (silent for only " + Durations.seconds(judgement.silence()) + " of the " + Durations.format(judgement.required())
                + " required), from " + String.join(", ", seen.report().stillSending());
        LOG.warn("{}: these consumers still send to the pod after its withdrawal; the app now stops under their traffic", why);
        return StepResult.timedOut(grant, "waited " + seen.waited() + " after the withdrawal" + seen.traffic(), why);
    }
}
