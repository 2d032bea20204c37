package io.lameduck.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lameduck.drain.Withdrawal;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Durations are measured on the monotonic clock: a wall-clock jump (an injected clock stepped by hours while the
 * withdrawal's API call runs, as an NTP step would) neither ends maintenance early, re-admitting traffic, nor keeps it.
 * Before the fix the TTL was turned into an instant before the withdrawal and back into a delay after it, so a jump
 * of more than the TTL in between expired maintenance at once.
 */
class MaintenanceWallClockJumpTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final Lifecycle lifecycle = new Lifecycle();
    private final SteppableClock clock = new SteppableClock();

    @AfterEach
    void shutdown() {
        scheduler.shutdownNow();
    }

    private static final class SteppableClock extends Clock {
        volatile Duration offset = Duration.ZERO;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(offset);
        }
    }

    /** A withdrawal during which the wall clock is stepped by {@code step}. */
    private Withdrawal steppingWithdrawal(Duration step) {
        return new Withdrawal() {
            @Override
            public String strategy() {
                return "test";
            }

            @Override
            public Result withdraw(Duration timeout) {
                clock.offset = clock.offset.plus(step);
                return new Result(Status.CONFIRMED, "withdrawn");
            }

            @Override
            public Result restore() {
                return new Result(Status.CONFIRMED, "serving");
            }
        };
    }

    @Test
    void aWallClockJumpForwardDuringTheWithdrawalDoesNotEndMaintenanceEarly() throws Exception {
        lifecycle.moveTo(State.READY, "test");
        Maintenance maintenance = new Maintenance(lifecycle, steppingWithdrawal(Duration.ofHours(2)), Duration.ofSeconds(1),
                status -> { }, scheduler, clock);
        long start = System.nanoTime();
        maintenance.enter("jump", Optional.of(Duration.ofMillis(800)));

        await().during(Duration.ofMillis(500)).atMost(Duration.ofMillis(700)).until(maintenance::isActive);
        await().atMost(Duration.ofSeconds(4)).until(() -> !maintenance.isActive());
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(800), Duration.ofSeconds(3)); // loose: a loaded 2-core CI machine; a jump would be 2 h
    }

    @Test
    void aWallClockJumpBackwardDuringTheWithdrawalDoesNotKeepMaintenanceLonger() throws Exception {
        lifecycle.moveTo(State.READY, "test");
        Maintenance maintenance = new Maintenance(lifecycle, steppingWithdrawal(Duration.ofHours(-2)), Duration.ofSeconds(1),
                status -> { }, scheduler, clock);
        long start = System.nanoTime();
        maintenance.enter("jump", Optional.of(Duration.ofMillis(300)));

        await().atMost(Duration.ofSeconds(4)).until(() -> !maintenance.isActive());
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(300), Duration.ofSeconds(3)); // loose: a loaded 2-core CI machine; a jump would be 2 h
    }
}
