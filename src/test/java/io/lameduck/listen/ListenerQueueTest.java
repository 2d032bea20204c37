package io.lameduck.listen;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.logging.LogCapture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class ListenerQueueTest {
    /** The producer's lock: events are queued holding it, as Lifecycle and Maintenance do. */
    private final Object lock = new Object();
    private final ListenerQueue<Consumer<String>> queue = new ListenerQueue<>(ListenerQueueTest.class);

    private void produce(String event) {
        synchronized (lock) {
            queue.enqueue(event, l -> l.accept(event));
        }
        queue.dispatch();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            assertThat(latch.await(5, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A listener that fails on every event with what {@code failure} makes of it. */
    private record Broken(Function<String, Throwable> failure) implements Consumer<String> {
        @Override
        public void accept(String event) {
            Throwable thrown = failure.apply(event);
            if (thrown instanceof Error error) {
                throw error;
            }
            throw (RuntimeException) thrown;
        }
    }

    @Test
    void concurrentProducersEventsReachEveryListenerOnceOneAtATimeInTheOrderTheyWereQueued() throws Exception {
        int producers = 8;
        int eventsEach = 500;
        AtomicInteger next = new AtomicInteger(); // drawn under the lock: the order in which events are queued
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger mostAtOnce = new AtomicInteger();
        List<Integer> first = new ArrayList<>(); // plain lists: delivery is one call at a time
        List<Integer> second = new ArrayList<>();
        ListenerQueue<Consumer<Integer>> numbers = new ListenerQueue<>(ListenerQueueTest.class);
        numbers.add(n -> {
            mostAtOnce.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            first.add(n);
            Thread.yield(); // invites another producer in while this one delivers
            inFlight.decrementAndGet();
        });
        numbers.add(second::add);
        ExecutorService pool = Executors.newFixedThreadPool(producers);
        CountDownLatch go = new CountDownLatch(1);
        for (int p = 0; p < producers; p++) {
            pool.submit(() -> {
                go.await();
                for (int i = 0; i < eventsEach; i++) {
                    synchronized (lock) {
                        int n = next.getAndIncrement();
                        numbers.enqueue("number " + n, l -> l.accept(n));
                    }
                    numbers.dispatch();
                }
                return null;
            });
        }
        go.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();

        List<Integer> queued = IntStream.range(0, producers * eventsEach).boxed().collect(Collectors.toList());
        assertThat(first).isEqualTo(queued);
        assertThat(second).isEqualTo(queued);
        assertThat(mostAtOnce).hasValue(1);
    }

    @Test
    void listenersRunOutsideTheProducersLockSoOneMayTakeItOnAnotherThread() {
        List<String> heard = new CopyOnWriteArrayList<>();
        queue.add(event -> {
            heard.add(event + ": lock held here " + Thread.holdsLock(lock));
            // Delivered under the lock, this would wait forever: the other thread cannot take it.
            CompletableFuture.runAsync(() -> {
                synchronized (lock) {
                    heard.add(event + ": lock taken on another thread");
                }
            }).orTimeout(5, TimeUnit.SECONDS).join();
        });

        produce("changed");

        assertThat(heard).containsExactly("changed: lock held here false", "changed: lock taken on another thread");
    }

    @Test
    void anEventQueuedByAListenerFollowsTheOneBeingDeliveredForEveryListener() {
        List<String> heard = new ArrayList<>();
        queue.add(event -> {
            heard.add("first hears " + event);
            if (event.equals("DRAINING")) {
                produce("DRAINED"); // as a lifecycle listener moving the lifecycle on
                heard.add("first returns from producing DRAINED");
            }
        });
        queue.add(event -> heard.add("second hears " + event));

        produce("DRAINING");

        assertThat(heard).containsExactly("first hears DRAINING", "first returns from producing DRAINED",
                "second hears DRAINING", "first hears DRAINED", "second hears DRAINED");
    }

    @Test
    void aListenerThrowingARuntimeExceptionOrAnErrorIsLoggedAndTheOtherListenersAndLaterEventsStillHear() {
        List<String> heard = new ArrayList<>();
        queue.add(new Broken(event -> switch (event) {
            case "one" -> new IllegalStateException("broken on one");
            case "two" -> new AssertionError("broken beyond a RuntimeException");
            default -> new StackOverflowError();
        }));
        queue.add(heard::add);

        try (LogCapture logs = LogCapture.of(ListenerQueueTest.class)) {
            List.of("one", "two", "three").forEach(this::produce);

            assertThat(heard).containsExactly("one", "two", "three");
            String broken = Broken.class.getName();
            assertThat(logs.events()).extracting(LogCapture.Event::level).containsOnly(Level.WARN);
            assertThat(logs.messages(Level.WARN)).containsExactly(
                    "ListenerQueueTest listener " + broken + " failed on one: java.lang.IllegalStateException: broken on one",
                    "ListenerQueueTest listener " + broken + " failed on two: java.lang.AssertionError: broken beyond a RuntimeException",
                    "ListenerQueueTest listener " + broken + " failed on three: java.lang.StackOverflowError");
        }
    }

    @Test
    void aDispatchThatFindsAnotherThreadDeliveringLeavesItsEventToThatThreadWhichDeliversItNext() throws Exception {
        CountDownLatch delivering = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> heard = new CopyOnWriteArrayList<>();
        queue.add(event -> {
            heard.add(event + " on " + Thread.currentThread().getName());
            if (event.equals("first")) {
                delivering.countDown();
                awaitQuietly(release);
            }
        });
        Thread producer = new Thread(() -> produce("first"), "first-producer");
        producer.start();
        assertThat(delivering.await(5, TimeUnit.SECONDS)).isTrue();

        produce("second"); // returns at once: it does not wait for the first producer's listener

        assertThat(heard).containsExactly("first on first-producer");
        release.countDown();
        producer.join(5000);
        assertThat(heard).containsExactly("first on first-producer", "second on first-producer");
    }
}
