package io.lameduck.kube;

/**
 * How a finished drain's report travels to the fleet collector: on the Event the agent writes at the drain's end
 * (DrainCompleted, DrainDeadlineExceeded or DrainFailed), labelled so the collector can list and watch exactly these,
 * with the workload and the whole report (the JSON of {@code /status}) in annotations. Events outlive the pod (an hour
 * by default), so the collector also counts the drains that ended while it was down.
 *
 * <p>The end of a restart cycle travels the same way, with label value {@link #RESTART_KIND}: on the cycle's last Event
 * (Restored, RestartSuperseded or RestoredWithoutRestart), the cycle's status ({@code /status}'s {@code restart}) in
 * annotation {@link #RESTART_REPORT}.
 */
public final class DrainReportEvent {
    /** Label on the Event, value {@link #REPORT_KIND}: the collector's label selector. */
    public static final String REPORT_LABEL = "lameduck.io/report";
    public static final String REPORT_KIND = "drain";
    /** Label value of the Event that ends a restart cycle. */
    public static final String RESTART_KIND = "restart";
    /** Both kinds: what the collector lists and watches. */
    public static final String SELECTOR = REPORT_LABEL + " in (" + REPORT_KIND + "," + RESTART_KIND + ")";
    public static final String WORKLOAD_KIND = "lameduck.io/workload-kind";
    public static final String WORKLOAD = "lameduck.io/workload";
    /** The report as JSON. */
    public static final String REPORT = "lameduck.io/drain-report";
    /** The ended restart cycle's status as JSON. */
    public static final String RESTART_REPORT = "lameduck.io/restart-report";
    /**
     * The largest report the agent attaches (and the collector accepts). A report is a few KiB (its lists are capped:
     * ten traffic sources, the configured hooks); an Event's annotations may total 256 KiB.
     */
    public static final int MAX_REPORT_BYTES = 64 * 1024;

    private DrainReportEvent() {}
}
