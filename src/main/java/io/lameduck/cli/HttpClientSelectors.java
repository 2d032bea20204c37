package io.lameduck.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Ends the selector threads of the JDK's HTTP clients once the agent has stopped, so that the JVM exits at once.
 *
 * <p>On its way out HotSpot waits for every Java thread that is in native code to block, up to 300 ms for threads that
 * are not compilers ({@code VM_Exit::wait_for_threads_in_native_to_block}; Java 25 has a flag for it, 17 none). A
 * JDK HTTP client's selector thread, the Kubernetes client's among them, sits in {@code epoll_wait} for as long as its
 * client lives, and on Java 17 a client cannot be closed ({@code HttpClient.close} came in Java 21). So every exit of
 * the agent took 0.3 s longer than its stop (measured in the pod and on the host), and the agent is the last of a
 * pod's containers to exit: every termination did too. The selector's loop ends when its thread is interrupted, and
 * closes its selector and connections; nothing uses the clients after the stop.
 */
final class HttpClientSelectors {
    /** How the JDK names them: {@code HttpClient-<id>-SelectorManager}. */
    private static final Pattern NAME = Pattern.compile("HttpClient-\\d+-SelectorManager");
    /** The longest wait for one of them to end: beyond it, the JVM's own bounded wait applies. */
    static final Duration JOIN_BOUND = Duration.ofMillis(200);

    private HttpClientSelectors() {}

    /** Interrupts the selector threads of every JDK HTTP client in the process and waits for them to end. */
    static int end() throws InterruptedException {
        return end(thread -> true);
    }

    /** As {@link #end()}, for the selector threads that {@code which} accepts; returns how many ended. */
    static int end(Predicate<Thread> which) throws InterruptedException {
        List<Thread> selectors = new ArrayList<>();
        for (Thread thread : liveThreads()) {
            if (NAME.matcher(thread.getName()).matches() && which.test(thread)) {
                thread.interrupt();
                selectors.add(thread);
            }
        }
        int ended = 0;
        for (Thread selector : selectors) {
            selector.join(JOIN_BOUND.toMillis());
            ended += selector.isAlive() ? 0 : 1;
        }
        return ended;
    }

    private static List<Thread> liveThreads() {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() * 2 + 16]; // the count is an estimate; enumerate fills at most this many
        int count = root.enumerate(threads, true);
        return Arrays.asList(threads).subList(0, count);
    }
}
