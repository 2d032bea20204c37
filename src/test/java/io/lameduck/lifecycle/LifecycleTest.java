package io.lameduck.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LifecycleTest {
    private final Clock clock = Clock.fixed(Instant.parse("2026-11-22T00:00:00Z"), ZoneOffset.UTC);

    private static List<State> path(LifecycleSnapshot snapshot) {
        List<State> states = new ArrayList<>();
        states.add(State.CREATED);
        snapshot.history().forEach(t -> states.add(t.to()));
        return states;
    }

    @Test
    void servingIsOverOnceADrainBeganAndInEveryLaterState() {
        assertThat(java.util.Arrays.stream(State.values()).filter(State::servingIsOver))
                .containsExactly(State.DRAINING, State.DRAINED, State.STOPPING, State.STOPPED, State.FAILED);
    }

    @Test
    void normalLifeRecordsEveryTransitionInOrder() {
        Lifecycle lifecycle = new Lifecycle(clock);
        List<Transition> heard = new ArrayList<>();
        lifecycle.addListener(heard::add);

        for (State state : List.of(State.STARTING, State.READY, State.DRAINING, State.DRAINED, State.STOPPING, State.STOPPED)) {
            assertThat(lifecycle.moveTo(state, "to " + state)).isTrue();
        }

        LifecycleSnapshot snapshot = lifecycle.snapshot();
        assertThat(path(snapshot)).containsExactly(State.CREATED, State.STARTING, State.READY, State.DRAINING,
                State.DRAINED, State.STOPPING, State.STOPPED);
        assertThat(heard).isEqualTo(snapshot.history());
        assertThat(snapshot.history().get(2)).isEqualTo(new Transition(State.READY, State.DRAINING, clock.instant(), "to DRAINING"));
        assertThat(snapshot.reason()).isEqualTo("to STOPPED");
    }

    @Test
    void neverMovesBackwardsAndLaterTriggersJoinQuietly() {
        Lifecycle lifecycle = new Lifecycle(clock);
        lifecycle.moveTo(State.STARTING, "start");
        lifecycle.moveTo(State.READY, "ready");
        lifecycle.moveTo(State.DRAINING, "first trigger");

        assertThat(lifecycle.moveTo(State.DRAINING, "second trigger")).isFalse();
        assertThat(lifecycle.moveTo(State.READY, "back to ready?")).isFalse();
        assertThat(lifecycle.moveTo(State.CREATED, "back to start?")).isFalse();
        assertThat(path(lifecycle.snapshot())).containsExactly(State.CREATED, State.STARTING, State.READY, State.DRAINING);
    }

    @Test
    void drainDuringStartupSkipsReadyForGood() {
        Lifecycle lifecycle = new Lifecycle(clock);
        lifecycle.moveTo(State.STARTING, "start");
        lifecycle.moveTo(State.DRAINING, "signal while starting");

        assertThat(lifecycle.moveTo(State.READY, "start-up finished")).isFalse();
        assertThat(path(lifecycle.snapshot())).containsExactly(State.CREATED, State.STARTING, State.DRAINING);
    }

    @Test
    void failurePathEndsInTerminalFailed() {
        Lifecycle lifecycle = new Lifecycle(clock);
        lifecycle.moveTo(State.STARTING, "start");
        assertThat(lifecycle.moveTo(State.FAILED, "cannot bind")).isTrue();

        assertThat(lifecycle.moveTo(State.READY, "late")).isFalse();
        assertThat(lifecycle.moveTo(State.STOPPED, "late")).isFalse();
        assertThat(lifecycle.moveTo(State.FAILED, "again")).isFalse();
        assertThat(path(lifecycle.snapshot())).containsExactly(State.CREATED, State.STARTING, State.FAILED);
        assertThat(lifecycle.snapshot().reason()).isEqualTo("cannot bind");
        assertThat(State.FAILED.isTerminal()).isTrue();
        assertThat(State.STOPPED.isTerminal()).isTrue();
        assertThat(State.DRAINED.isTerminal()).isFalse();
    }

    @Test
    void listenerFailureDoesNotStopOthersOrTheTransition() {
        Lifecycle lifecycle = new Lifecycle(clock);
        List<State> heard = new ArrayList<>();
        lifecycle.addListener(t -> {
            throw new IllegalStateException("broken listener");
        });
        lifecycle.addListener(t -> heard.add(t.to()));

        assertThat(lifecycle.moveTo(State.STARTING, "start")).isTrue();
        assertThat(heard).containsExactly(State.STARTING);
        assertThat(lifecycle.state()).isEqualTo(State.STARTING);
    }

    @Test
    void listenersRunOutsideTheLockSoTheyCanReadAndMove() {
        Lifecycle lifecycle = new Lifecycle(clock);
        List<State> seenInsideListener = new ArrayList<>();
        lifecycle.addListener(t -> {
            seenInsideListener.add(lifecycle.state());
            if (t.to() == State.DRAINING) {
                lifecycle.moveTo(State.DRAINED, "moved from a listener");
            }
        });
        lifecycle.moveTo(State.DRAINING, "drain");

        assertThat(lifecycle.state()).isEqualTo(State.DRAINED);
        assertThat(path(lifecycle.snapshot())).containsExactly(State.CREATED, State.DRAINING, State.DRAINED);
    }

    @Test
    void concurrentMoversProduceOneMonotonicHistoryHeardExactlyOnce() throws Exception {
        Lifecycle lifecycle = new Lifecycle(clock);
        List<Transition> heard = new CopyOnWriteArrayList<>();
        lifecycle.addListener(heard::add);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        State[] targets = {State.STARTING, State.READY, State.DRAINING, State.DRAINED, State.STOPPING, State.STOPPED};
        for (int i = 0; i < 64; i++) {
            State target = targets[i % targets.length];
            pool.submit(() -> {
                go.await();
                return lifecycle.moveTo(target, "racer");
            });
        }
        go.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

        List<Transition> history = lifecycle.snapshot().history();
        for (int i = 1; i < history.size(); i++) {
            assertThat(history.get(i).from()).isEqualTo(history.get(i - 1).to());
            assertThat(history.get(i).to().ordinal()).isGreaterThan(history.get(i).from().ordinal());
        }
        assertThat(heard).containsExactlyElementsOf(history);
    }
}
