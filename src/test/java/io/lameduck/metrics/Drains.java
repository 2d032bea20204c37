package io.lameduck.metrics;

import io.lameduck.drain.DrainListener;
import io.lameduck.drain.DrainOutcome;
import io.lameduck.drain.DrainReport;
import io.lameduck.drain.HookReport;
import io.lameduck.drain.Outcome;
import io.lameduck.drain.StepName;
import io.lameduck.drain.StepReport;
import io.lameduck.drain.Trigger;
import java.time.Instant;
import java.util.List;

/** A completed drain as the coordinator reports it: four steps, two hooks. */
final class Drains {
    static final Instant STARTED = Instant.parse("2026-11-22T10:00:00Z");

    static final List<StepReport> STEPS = List.of(
            new StepReport(StepName.UNREADY, Outcome.COMPLETED, 0.001, "/readyz answers 503", null),
            new StepReport(StepName.WITHDRAW, Outcome.COMPLETED, 1.2, "readiness gate false; confirmed", null),
            new StepReport(StepName.PROPAGATE, Outcome.COMPLETED, 5.0, "waited 5000ms", null),
            new StepReport(StepName.HOOKS, Outcome.COMPLETED, 2.3, "2 hooks", null));

    static final List<HookReport> HOOKS = List.of(
            new HookReport("app-drain", "http", 10, "quiet", Outcome.COMPLETED, 0.3, null),
            new HookReport("idle", "wait-idle", 20, "quiet", Outcome.COMPLETED, 2.0, null));

    static DrainReport completed() {
        return new DrainReport("drain-1", Trigger.PRESTOP, null, DrainOutcome.COMPLETED, STARTED,
                STARTED.plusMillis(8_501), STARTED.plusSeconds(25), "configured budget 30s minus safety margin 5s",
                8.501, STEPS, null, HOOKS, null);
    }

    /** Delivers the events in the order the coordinator sends them. */
    static void drive(DrainListener listener, DrainReport report) {
        listener.drainStarted(report.id(), report.trigger(), report.deadline());
        for (StepReport step : report.steps()) {
            if (step.name() == StepName.HOOKS) {
                report.hooks().forEach(hook -> listener.hookFinished(report.id(), hook));
            }
            listener.stepFinished(report.id(), step);
        }
        listener.drainFinished(report);
    }

    private Drains() {}
}
