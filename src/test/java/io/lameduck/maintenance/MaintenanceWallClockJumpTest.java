package io.lameduck.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.drain.Withdrawal;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.testsupport.SimulatedTime;
import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Durations are measured on the monotonic clock: a wall-clock jump (the wall clock stepped by hours while the
 * withdrawal's API call runs, as an NTP step would) neither ends maintenance early, re-admitting traffic, nor keeps it.
 * Before the fix the TTL was turned into an instant before the withdrawal and back into a delay after it, so a jump
 * of more than the TTL in between expired maintenance at once. On simulated time: the withdrawal takes 100 ms, and the
 * TTL ends exactly when it should, counted from the request.
 */
class MaintenanceWallClockJumpTest {
    private static final Duration WITHDRAWAL_TAKES = Duration.ofMillis(100);

    private final SimulatedTime simulated = new SimulatedTime();
    private final SteppableWallClock time = new SteppableWallClock(simulated);
    private final Lifecycle lifecycle = new Lifecycle();

    @AfterEach
    void close() {
        simulated.close();
    }

    /** Simulated time whose wall clock can be stepped; its monotonic side, sleeps and timers are untouched. */
    private static final class SteppableWallClock implements TimeSource {
        private final SimulatedTime simulated;
        volatile Duration offset = Duration.ZERO;

        SteppableWallClock(SimulatedTime simulated) {
            this.simulated = simulated;
        }

        @Override
        public long nanoTime() {
            return simulated.nanoTime();
        }

        @Override
        public Instant instant() {
            return simulated.instant().plus(offset);
        }

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            simulated.sleep(duration);
        }

        @Override
        public boolean await(Future<?> future, Duration timeout) throws InterruptedException {
            return simulated.await(future, timeout);
        }

        @Override
        public Scheduled schedule(Duration delay, Runnable task) {
            return simulated.schedule(delay, task);
        }

        @Override
        public Thread start(String name, Runnable body) {
            return simulated.start(name, body);
        }
    }

    /** A withdrawal that takes {@link #WITHDRAWAL_TAKES}, during which the wall clock is stepped by {@code step}. */
    private Withdrawal steppingWithdrawal(Duration step) {
        return new Withdrawal() {
            @Override
            public String strategy() {
                return "test";
            }

            @Override
            public Result withdraw(Duration timeout) throws InterruptedException {
                time.offset = time.offset.plus(step);
                time.sleep(WITHDRAWAL_TAKES);
                return new Result(Status.CONFIRMED, "withdrawn");
            }

            @Override
            public Result restore() {
                return new Result(Status.CONFIRMED, "serving");
            }
        };
    }

    /** Enters maintenance for {@code ttl} and returns once the withdrawal has returned. */
    private Maintenance enterDuringAJump(Duration step, Duration ttl) throws Exception {
        lifecycle.moveTo(State.READY, "test");
        Maintenance maintenance = new Maintenance(lifecycle, steppingWithdrawal(step), Duration.ofSeconds(1),
                status -> { }, Runnable::run, time);
        SimulatedTime.Task<MaintenanceStatus> entering = simulated.run("enter", () -> maintenance.enter("jump", Optional.of(ttl)));
        simulated.advance(WITHDRAWAL_TAKES);
        assertThat(entering.result().expiresAt()).as("named before the jump: the request's moment plus the TTL")
                .isEqualTo(SimulatedTime.START.plus(ttl));
        return maintenance;
    }

    /** Maintenance is still on a nanosecond before {@code at} (from the request) and ended by its TTL at {@code at}. */
    private void endsAt(Maintenance maintenance, Duration at) {
        simulated.advance(at.minus(simulated.elapsed()).minusNanos(1));
        assertThat(maintenance.isActive()).as("active at %s", simulated.elapsed()).isTrue();
        simulated.advance(Duration.ofNanos(1));
        assertThat(maintenance.status()).extracting(MaintenanceStatus::active, MaintenanceStatus::reason)
                .containsExactly(false, "TTL expired");
    }

    @Test
    void aWallClockJumpForwardDuringTheWithdrawalDoesNotEndMaintenanceEarly() throws Exception {
        Maintenance maintenance = enterDuringAJump(Duration.ofHours(2), Duration.ofMillis(800));

        endsAt(maintenance, Duration.ofMillis(800));
    }

    @Test
    void aWallClockJumpBackwardDuringTheWithdrawalDoesNotKeepMaintenanceLonger() throws Exception {
        Maintenance maintenance = enterDuringAJump(Duration.ofHours(-2), Duration.ofMillis(300));

        endsAt(maintenance, Duration.ofMillis(300));
    }
}
