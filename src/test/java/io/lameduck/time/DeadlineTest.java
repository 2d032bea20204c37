package io.lameduck.time;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DeadlineTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Ticker ticker = now::get;
    private final Clock clock = Clock.fixed(Instant.parse("2026-11-22T10:00:00Z"), ZoneOffset.UTC);

    @Test
    void remainingShrinksWithTheMonotonicClockAndNeverGoesNegative() {
        Deadline deadline = Deadline.after(Duration.ofSeconds(28), ticker, clock);
        assertThat(deadline.remaining()).isEqualTo(Duration.ofSeconds(28));
        assertThat(deadline.instant()).isEqualTo(Instant.parse("2026-11-22T10:00:28Z"));

        now.addAndGet(Duration.ofSeconds(10).toNanos());
        assertThat(deadline.remaining()).isEqualTo(Duration.ofSeconds(18));
        assertThat(deadline.isExpired()).isFalse();

        now.addAndGet(Duration.ofSeconds(30).toNanos());
        assertThat(deadline.remaining()).isEqualTo(Duration.ZERO);
        assertThat(deadline.isExpired()).isTrue();
    }

    @Test
    void capCutsWhatDoesNotFit() {
        Deadline deadline = Deadline.after(Duration.ofSeconds(5), ticker, clock);
        assertThat(deadline.cap(Duration.ofSeconds(2))).isEqualTo(Duration.ofSeconds(2));
        assertThat(deadline.grant(Duration.ofSeconds(2))).isEqualTo(new Deadline.Grant(Duration.ofSeconds(2), false));
        assertThat(deadline.cap(Duration.ofSeconds(25))).isEqualTo(Duration.ofSeconds(5));
        assertThat(deadline.grant(Duration.ofSeconds(25))).isEqualTo(new Deadline.Grant(Duration.ofSeconds(5), true));
    }

    @Test
    void budgetMinusMarginLargerThanBudgetIsAnExpiredDeadline() {
        Deadline deadline = Deadline.after(Duration.ofSeconds(1).minus(Duration.ofSeconds(2)), ticker, clock);
        assertThat(deadline.isExpired()).isTrue();
        assertThat(deadline.remaining()).isZero();
    }

    @Test
    void survivesTickerWrapAround() {
        now.set(Long.MAX_VALUE - 1_000);
        Deadline deadline = Deadline.after(Duration.ofSeconds(1), ticker, clock);
        now.addAndGet(2_000); // overflows past Long.MAX_VALUE
        assertThat(deadline.isExpired()).isFalse();
        assertThat(deadline.remaining()).isEqualTo(Duration.ofNanos(1_000_000_000L - 2_000));
    }

    @Test
    void aHugeBudgetIsCappedInsteadOfOverflowing() {
        Deadline deadline = Deadline.after(Duration.ofSeconds(Long.MAX_VALUE / 2)); // e.g. terminationGracePeriodSeconds
        assertThat(deadline.remaining()).isPositive().isLessThanOrEqualTo(Deadline.LONGEST);
        assertThat(deadline.isExpired()).isFalse();
    }
}
