package io.lameduck.drain;

import io.lameduck.sockets.AppConnections;
import io.lameduck.time.Deadline;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The {@code fixed} propagate step: waits {@code delay} after the withdrawal, whatever happens. With the app's ports
 * known it still watches them, so the report says what traffic there was, judged as the quiet mode would.
 */
final class FixedPropagation extends Propagation {
    private final Duration delay;

    FixedPropagation(Duration delay, Rules rules, Duration pollInterval, Optional<AppConnections> connections, Optional<RecentAccepts> accepts,
            TimeSource time) {
        super(rules, pollInterval, connections, accepts, time);
        this.delay = delay;
    }

    @Override
    StepResult await(Deadline deadline, Watch watch, Consumer<TrafficReport> onTraffic) throws InterruptedException {
        Deadline.Grant grant = deadline.grant(delay);
        long start = time.nanoTime();
        watch.withdrawn(start);
        Judgement judgement = pollUntil(watch, start, grant.time(), never -> false);
        Seen seen = finish(watch, start, judgement, onTraffic);
        String detail = "waited " + seen.waited() + " for load balancers to catch up" + seen.traffic();
        return grant.cutByDeadline() ? StepResult.timedOut(grant, detail, null) : StepResult.completed(detail);
    }
}
