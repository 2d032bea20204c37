package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LifecycleGuardedWithdrawalTest {
    private final Lifecycle lifecycle = new Lifecycle();
    private final List<String> calls = new CopyOnWriteArrayList<>();
    private final CountDownLatch withdrawing = new CountDownLatch(1);
    private final CountDownLatch finishWithdraw = new CountDownLatch(1);

    /** Records calls; withdraw blocks until the test lets it finish. */
    private final Withdrawal recording = new Withdrawal() {
        @Override
        public String strategy() {
            return "label";
        }

        @Override
        public Result restore() {
            calls.add("restore");
            return new Result(Status.UNVERIFIED, "restored");
        }

        @Override
        public Result withdraw(Duration timeout) throws InterruptedException {
            calls.add("withdraw start");
            withdrawing.countDown();
            finishWithdraw.await(10, TimeUnit.SECONDS);
            calls.add("withdraw end");
            return new Result(Status.CONFIRMED, "withdrawn");
        }
    };
    private final Withdrawal guarded = new LifecycleGuardedWithdrawal(recording, lifecycle);

    @Test
    void restoresWhileStartingOrReadyButNeverOnceADrainBegan() {
        lifecycle.moveTo(State.STARTING, "start");
        assertThat(guarded.restore().detail()).isEqualTo("restored");
        lifecycle.moveTo(State.READY, "ready");
        assertThat(guarded.restore().detail()).isEqualTo("restored");
        lifecycle.moveTo(State.DRAINING, "drain");

        Withdrawal.Result refused = guarded.restore();
        assertThat(refused.detail()).isEqualTo("label: not restored, the agent is DRAINING (a drain owns the withdrawal)");
        assertThat(calls).containsExactly("restore", "restore");
    }

    @Test
    void aRestoreThatRacesAWithdrawalWaitsForItAndIsThenRefused() throws Exception {
        lifecycle.moveTo(State.READY, "ready");
        lifecycle.moveTo(State.DRAINING, "drain"); // the drain moves first, then withdraws
        CompletableFuture<Withdrawal.Result> withdraw = CompletableFuture.supplyAsync(() -> {
            try {
                return guarded.withdraw(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(withdrawing.await(5, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<Withdrawal.Result> restore = CompletableFuture.supplyAsync(guarded::restore);
        finishWithdraw.countDown();

        assertThat(withdraw.get(5, TimeUnit.SECONDS).status()).isEqualTo(Withdrawal.Status.CONFIRMED);
        assertThat(restore.get(5, TimeUnit.SECONDS).detail()).contains("not restored");
        assertThat(calls).containsExactly("withdraw start", "withdraw end");
    }
}
