package io.lameduck.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lameduck.drain.Withdrawal;
import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import io.lameduck.testsupport.SimulatedTime;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MaintenanceTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final Lifecycle lifecycle = new Lifecycle();
    private final PodEndpoint pod = new PodEndpoint();
    private final List<Boolean> announced = new CopyOnWriteArrayList<>();
    private final List<Boolean> persisted = new CopyOnWriteArrayList<>();
    private final SimulatedTime time = new SimulatedTime();
    private final Maintenance maintenance = maintenance(scheduler);

    @AfterEach
    void shutdown() {
        scheduler.shutdownNow();
        time.close();
    }

    /** Maintenance on simulated time whose unawaited changes (expiry, supersession) run on {@code executor}. */
    private Maintenance maintenance(Executor executor) {
        return new Maintenance(lifecycle, pod, Duration.ofSeconds(1), status -> persisted.add(status.active()), executor, time);
    }

    /** A pod whose endpoint is serving or withdrawn; a withdrawal can be held mid-call, like a slow API call. */
    private static final class PodEndpoint implements Withdrawal {
        volatile boolean serving = true;
        volatile CountDownLatch holdWithdrawal = new CountDownLatch(0);
        volatile CountDownLatch withdrawing = new CountDownLatch(1);

        @Override
        public String strategy() {
            return "test";
        }

        @Override
        public synchronized Result restore() {
            serving = true;
            return new Result(Status.CONFIRMED, "serving");
        }

        @Override
        public Result withdraw(Duration timeout) throws InterruptedException {
            synchronized (this) {
                serving = false;
            }
            withdrawing.countDown();
            holdWithdrawal.await(); // the API call has done its work but not returned yet
            return new Result(Status.CONFIRMED, "withdrawn");
        }
    }

    @Test
    void anExitDuringARenewalWaitsForItSoTheStatusMatchesThePod() throws Exception {
        lifecycle.moveTo(State.READY, "test");
        maintenance.addListener(status -> announced.add(status.active()));
        maintenance.enter("db migration", Optional.empty());
        pod.holdWithdrawal = new CountDownLatch(1);
        pod.withdrawing = new CountDownLatch(1);

        Thread renew = new Thread(() -> call(() -> maintenance.enter("db migration, longer", Optional.of(Duration.ofHours(1)))));
        renew.start();
        assertThat(pod.withdrawing.await(5, TimeUnit.SECONDS)).isTrue();
        AtomicReference<MaintenanceStatus> exited = new AtomicReference<>();
        Thread exit = new Thread(() -> call(() -> exited.set(maintenance.exit("done"))));
        exit.start();
        // The exit either waits for the renewal (the fix) or, as before, restores the pod and publishes OFF at once.
        await().atMost(Duration.ofSeconds(5)).until(() -> exit.getState() == Thread.State.WAITING || !exit.isAlive());
        pod.holdWithdrawal.countDown();
        renew.join(5000);
        exit.join(5000);

        assertThat(pod.serving).as("the exit came last: the pod serves").isTrue();
        assertThat(maintenance.status().active()).as("and the status says so").isFalse();
        assertThat(exited.get().active()).isFalse();
        assertThat(persisted).containsExactly(true, true, false);
        assertThat(announced).containsExactly(true, true, false);
    }

    @Test
    void anExpiredTtlRestoresThePodExactlyWhenItEnds() throws Exception {
        Maintenance maintenance = maintenance(Runnable::run); // the expiry runs within advance()
        lifecycle.moveTo(State.READY, "test");
        maintenance.enter("short", Optional.of(Duration.ofMillis(100)));

        time.advance(Duration.ofMillis(100).minusNanos(1));
        assertThat(maintenance.isActive()).isTrue();
        assertThat(pod.serving).isFalse();
        time.advance(Duration.ofNanos(1));

        assertThat(maintenance.isActive()).isFalse();
        assertThat(pod.serving).isTrue();
        assertThat(maintenance.status().reason()).isEqualTo("TTL expired");
        assertThat(persisted).containsExactly(true, false);
    }

    @Test
    void aDrainSupersedesMaintenanceAfterAnEntryInProgressWithoutRestoringThePodOrForgettingThePersistedIntent() throws Exception {
        lifecycle.moveTo(State.READY, "test");
        maintenance.addListener(status -> announced.add(status.active()));
        pod.holdWithdrawal = new CountDownLatch(1);
        Thread enter = new Thread(() -> call(() -> maintenance.enter("db migration", Optional.of(Duration.ofMillis(300)))));
        enter.start();
        assertThat(pod.withdrawing.await(5, TimeUnit.SECONDS)).isTrue();

        lifecycle.moveTo(State.DRAINING, "drain"); // the entry checked READY before: it finishes, then is superseded
        maintenance.supersedeByDrain();
        pod.holdWithdrawal.countDown();
        enter.join(5000);
        await().atMost(Duration.ofSeconds(5)).until(() -> announced.size() == 2);
        // Far past the 300 ms TTL: its expiry was cancelled and never restores the pod.
        time.advance(Duration.ofHours(1));

        assertThat(maintenance.status()).extracting(MaintenanceStatus::active, MaintenanceStatus::reason, MaintenanceStatus::expiresAt)
                .containsExactly(false, "superseded by the drain (maintenance was: db migration)", null);
        assertThat(pod.serving).as("nothing restored: the drain owns the withdrawal").isFalse();
        assertThat(announced).containsExactly(true, false);
        assertThat(persisted).as("the persisted maintenance stays, for a restarted agent").containsExactly(true);
        assertThatThrownBy(() -> maintenance.enter("again", Optional.empty())).isInstanceOf(Maintenance.NotAllowedException.class);
        assertThat(maintenance.exit("by request").active()).as("leaving it is a no-op").isFalse();
    }

    @Test
    void persistedMaintenanceIsNotRestoredOnceADrainHasBegun() throws Exception {
        lifecycle.moveTo(State.STARTING, "test");
        lifecycle.moveTo(State.DRAINING, "a signal during start-up");

        maintenance.restore(new MaintenanceStatus(true, "db migration", java.time.Instant.now(), null, "withdrawn"));

        assertThat(maintenance.isActive()).isFalse();
        assertThat(pod.serving).as("restore() withdrew nothing either").isTrue();
        assertThat(persisted).isEmpty();
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void call(Call call) {
        try {
            call.run();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
