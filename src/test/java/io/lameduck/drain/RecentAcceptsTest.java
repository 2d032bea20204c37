package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.drain.RecentAccepts.Accepted;
import io.lameduck.time.Ticker;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The app's accepted connections before a drain, on simulated time, from a scripted kernel count (the real one is read
 * in PassiveOpensTest; here it stands in for a pod's, which has only the app's and the agent's listeners).
 */
class RecentAcceptsTest {
    private static final int AGENT_PORT = 8081;
    private long now = 1_000_000_000L;
    private final Ticker ticker = () -> now;
    private final AtomicLong kernel = new AtomicLong(5_000);
    private final AtomicLong agent = new AtomicLong(40);
    private final AtomicReference<Set<Integer>> listening = new AtomicReference<>(Set.of(8080, AGENT_PORT));
    private boolean unreadable;
    private final RecentAccepts accepts = new RecentAccepts(() -> {
        if (unreadable) {
            throw new IOException("no /proc/net/snmp");
        }
        return kernel.get();
    }, agent::get, listening::get, Set.of(8080), () -> AGENT_PORT, ticker);

    /** What a drain starting now learns of the seconds before it. */
    private Optional<Accepted> before() {
        return accepts.start().flatMap(RecentAccepts.Count::before);
    }

    private void advance(Duration by) {
        now += by.toNanos();
    }

    /** {@code app} connections to the app and {@code own} to the agent over {@code by}, then a sample. */
    private void serve(Duration by, int app, int own) {
        advance(by);
        kernel.addAndGet(app + own);
        agent.addAndGet(own);
        accepts.sample();
    }

    @Test
    void theAppsConnectionsSinceTheNewestSampleAtLeastFiveSecondsOld() {
        accepts.sample();
        serve(Duration.ofSeconds(5), 40, 3);
        serve(Duration.ofSeconds(5), 45, 3);
        advance(Duration.ofSeconds(2));
        kernel.addAndGet(16 + 1);
        agent.addAndGet(1);

        // The sample 2 s old is too recent; the one 7 s old is the newest old enough: 45 + 16 since.
        assertThat(before()).contains(new Accepted(61, Duration.ofSeconds(7)));
    }

    @Test
    void nothingUntilASampleIsOldEnough() {
        assertThat(before()).as("no sample yet").isEmpty();
        accepts.sample();
        advance(Duration.ofSeconds(4));
        kernel.addAndGet(30);
        assertThat(before()).as("an agent up for 4 s").isEmpty();
        advance(Duration.ofSeconds(1));
        assertThat(before()).contains(new Accepted(30, Duration.ofSeconds(5)));
    }

    @Test
    void aSampleTooRecentLeavesTheOneBefore() {
        for (int i = 0; i < 10; i++) {
            serve(Duration.ofSeconds(5), 10, 1);
        }
        advance(Duration.ofSeconds(3));
        kernel.addAndGet(7);
        assertThat(before()).contains(new Accepted(17, Duration.ofSeconds(8)));
    }

    @Test
    void anotherListenerInThePodMakesTheCountNotTheAppsAlone() {
        accepts.sample();
        serve(Duration.ofSeconds(5), 40, 0);
        advance(Duration.ofSeconds(5));
        listening.set(Set.of(8080, AGENT_PORT, 15090)); // e.g. a proxy's metrics port
        assertThat(accepts.start()).as("no count at all: neither before nor during the drain").isEmpty();
        listening.set(Set.of(AGENT_PORT)); // the app not listening at all is no other listener
        assertThat(before()).isPresent();
    }

    @Test
    void anUnreadableCountIsNoCount() {
        accepts.sample();
        advance(Duration.ofSeconds(5));
        unreadable = true;
        assertThat(accepts.start()).isEmpty();
        accepts.sample(); // a failed sample keeps the ones before
        unreadable = false;
        kernel.addAndGet(12);
        assertThat(before()).contains(new Accepted(12, Duration.ofSeconds(5)));
    }

    @Test
    void aCountThatWentBackIsNoCount() {
        accepts.sample();
        advance(Duration.ofSeconds(6));
        kernel.set(0); // not one namespace's count any more
        assertThat(before()).isEqualTo(Optional.empty());
    }

    @Test
    void duringADrainTheAppsConnectionsSinceItsStart() throws IOException {
        RecentAccepts.Count count = accepts.start().orElseThrow();
        assertThat(count.before()).as("an agent that just started").isEmpty();
        advance(Duration.ofMillis(100));
        kernel.addAndGet(5 + 2); // five to the app, two probes of the agent
        agent.addAndGet(2);
        assertThat(count.sinceStart()).isEqualTo(5);
        kernel.addAndGet(1); // one more to the agent, not yet accepted by its server: taken for the app's until it is
        assertThat(count.sinceStart()).isEqualTo(6);
        agent.addAndGet(1);
        assertThat(count.sinceStart()).isEqualTo(5);
    }
}
