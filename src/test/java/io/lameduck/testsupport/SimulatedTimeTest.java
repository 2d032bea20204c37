package io.lameduck.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lameduck.time.TimeSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The contract of simulated time: nothing moves but by {@link SimulatedTime#advance}, and what comes due runs in one order. */
class SimulatedTimeTest {
    private final SimulatedTime time = new SimulatedTime();
    private final List<String> events = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        time.close();
    }

    @Test
    void aSleeperWakesExactlyWhenTheTestHasAdvancedTheTimeToItsWakeUp() throws Exception {
        SimulatedTime.Task<Long> sleeper = time.run("sleeper", () -> {
            time.sleep(Duration.ofSeconds(3));
            return time.nanoTime();
        });
        long start = time.nanoTime();
        time.advance(Duration.ofSeconds(3).minusNanos(1));
        assertThat(sleeper.isDone()).isFalse();
        assertThatThrownBy(sleeper::result).hasMessageContaining("advance the time further");
        time.advance(Duration.ofNanos(1));
        assertThat(sleeper.result() - start).isEqualTo(Duration.ofSeconds(3).toNanos());
        assertThat(time.instant()).isEqualTo(SimulatedTime.START.plusSeconds(3));
    }

    @Test
    void advanceWakesDueSleepersOneAtATimeInOrderAndWaitsUntilTheyAreIdleAgain() {
        for (String name : List.of("a", "b")) { // each sleeps 100 ms, records, and again, three times
            time.run(name, () -> {
                for (int i = 0; i < 3; i++) {
                    time.sleep(Duration.ofMillis(100));
                    events.add(name + "@" + time.elapsed().toMillis());
                }
                return null;
            });
        }
        time.schedule(Duration.ofMillis(200), () -> events.add("timer@" + time.elapsed().toMillis()));
        time.advance(Duration.ofMillis(250));
        assertThat(events).containsExactly("a@100", "b@100", "timer@200", "a@200", "b@200");
        time.advance(Duration.ofMillis(50));
        assertThat(events).endsWith("a@300", "b@300");
    }

    @Test
    void anAwaitEndsTheMomentItsFutureIsDoneOrElseExactlyAtItsTimeout() throws Exception {
        CompletableFuture<Void> work = new CompletableFuture<>();
        SimulatedTime.Task<String> waiter = time.run("waiter", () -> time.await(work, Duration.ofSeconds(5)) + "@" + time.elapsed());
        time.run("worker", () -> {
            time.sleep(Duration.ofSeconds(2));
            work.complete(null);
            return null;
        });
        time.advance(Duration.ofSeconds(2));
        assertThat(waiter.result()).isEqualTo("true@PT2S");

        SimulatedTime.Task<String> timesOut = time.run("waiter", () -> time.await(new CompletableFuture<>(), Duration.ofSeconds(5)) + "@" + time.elapsed());
        time.advance(Duration.ofSeconds(5).minusNanos(1));
        assertThat(timesOut.isDone()).isFalse();
        time.advance(Duration.ofNanos(1));
        assertThat(timesOut.result()).isEqualTo("false@PT7S");
    }

    @Test
    void anAwaitLooksAtOnceWithoutTimeAndLeavesWhenInterrupted() throws Exception {
        assertThat(time.await(CompletableFuture.completedFuture(null), Duration.ZERO)).isTrue();
        assertThat(time.await(new CompletableFuture<>(), Duration.ZERO)).isFalse();
        CompletableFuture<Void> never = new CompletableFuture<>();
        SimulatedTime.Task<String> waiter = time.run("waiter", () -> {
            try {
                time.await(never);
                return "done";
            } catch (InterruptedException e) {
                return "interrupted at " + time.elapsed();
            }
        });
        time.advance(Duration.ofDays(1));
        assertThat(waiter.isDone()).isFalse();
        Thread target = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("waiter")).findFirst().orElseThrow();
        target.interrupt();
        time.advance(Duration.ZERO); // returns once the waiter's thread has finished
        assertThat(waiter.result()).isEqualTo("interrupted at PT24H");
    }

    @Test
    void aCancelledTaskDoesNotRun() {
        TimeSource.Scheduled task = time.schedule(Duration.ofSeconds(1), () -> events.add("ran"));
        assertThat(task.cancel()).isTrue();
        time.advance(Duration.ofSeconds(2));
        assertThat(events).isEmpty();
        assertThat(task.cancel()).isFalse();
    }

    @Test
    void aSleeperInterruptedByAnotherThreadLeavesItsSleep() throws Exception {
        SimulatedTime.Task<String> sleeper = time.run("sleeper", () -> {
            try {
                time.sleep(Duration.ofDays(1));
                return "woke";
            } catch (InterruptedException e) {
                return "interrupted at " + time.elapsed();
            }
        });
        Thread[] target = new Thread[1];
        time.run("finder", () -> {
            Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("sleeper")).forEach(t -> target[0] = t);
            return null;
        });
        time.run("interrupter", () -> {
            target[0].interrupt();
            return null;
        });
        assertThat(sleeper.result()).isEqualTo("interrupted at PT0S");
    }

    @Test
    void misuseFailsAtOnceInsteadOfHanging() throws Exception {
        assertThatThrownBy(() -> time.sleep(Duration.ofSeconds(1))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("run the code under test with run(...)");
        CountDownLatch done = new CountDownLatch(1);
        Throwable[] thrown = new Throwable[1];
        Thread stranger = new Thread(() -> {
            try {
                time.sleep(Duration.ofSeconds(1));
            } catch (Throwable e) {
                thrown[0] = e;
            }
            done.countDown();
        }, "stranger");
        stranger.start();
        done.await();
        assertThat(thrown[0]).isInstanceOf(IllegalStateException.class).hasMessageContaining("start it with start(...)");
        assertThatThrownBy(() -> time.advance(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class);
    }
}
