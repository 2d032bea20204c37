package io.lameduck.time;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The one deadline of a drain, fixed once on a monotonic clock. Every step asks for what
 * {@link #remaining()}; nothing is ever granted past it.
 */
public final class Deadline {
    private final Ticker ticker;
    private final long deadlineNanos;
    private final Instant instant;

    private Deadline(Ticker ticker, long deadlineNanos, Instant instant) {
        this.ticker = ticker;
        this.deadlineNanos = deadlineNanos;
        this.instant = instant;
    }

    /** A deadline {@code usable} from now; {@code clock} only labels it with a wall-clock instant for reports. */
    /** The longest deadline: far beyond any drain, far below the ~292 years a nanosecond long can hold. */
    static final Duration LONGEST = Duration.ofDays(365);

    public static Deadline after(Duration usable, Ticker ticker, Clock clock) {
        // Capped so the nanosecond arithmetic below cannot overflow, whatever a pod's terminationGracePeriodSeconds says.
        Duration positive = usable.isNegative() ? Duration.ZERO : usable.compareTo(LONGEST) > 0 ? LONGEST : usable;
        return new Deadline(ticker, ticker.nanoTime() + positive.toNanos(), clock.instant().plus(positive));
    }

    public static Deadline after(Duration usable) {
        return after(usable, Ticker.SYSTEM, Clock.systemUTC());
    }

    /** Time left; zero once the deadline has passed, never negative. */
    public Duration remaining() {
        long left = deadlineNanos - ticker.nanoTime();
        return left <= 0 ? Duration.ZERO : Duration.ofNanos(left);
    }

    public boolean isExpired() {
        return deadlineNanos - ticker.nanoTime() <= 0;
    }

    /** {@code wanted}, cut down to what remains. */
    public Duration cap(Duration wanted) {
        return grant(wanted).time();
    }

    /**
     * {@code wanted}, cut down to what remains, remembering whether it was cut. A step that runs out of a cut grant
     * was cut short by the deadline: this is the one place that knows it.
     */
    public Grant grant(Duration wanted) {
        Duration left = remaining();
        return wanted.compareTo(left) <= 0 ? new Grant(wanted, false) : new Grant(left, true);
    }

    /**
     * Time handed to a step or hook.
     *
     * @param cutByDeadline whether the time wanted did not fit before the deadline, so running out of it means the
     *     deadline cut the work short
     */
    public record Grant(Duration time, boolean cutByDeadline) {}

    /** The wall-clock moment of the deadline, for reports and logs. */
    public Instant instant() {
        return instant;
    }
}
