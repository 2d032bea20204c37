package io.lameduck.drain;

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
    public static Deadline after(Duration usable, Ticker ticker, Clock clock) {
        Duration positive = usable.isNegative() ? Duration.ZERO : usable;
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
        Duration left = remaining();
        return wanted.compareTo(left) <= 0 ? wanted : left;
    }

    /** Whether {@code wanted} had to be cut down to fit. */
    public boolean cuts(Duration wanted) {
        return wanted.compareTo(remaining()) > 0;
    }

    /** The wall-clock moment of the deadline, for reports and logs. */
    public Instant instant() {
        return instant;
    }
}
