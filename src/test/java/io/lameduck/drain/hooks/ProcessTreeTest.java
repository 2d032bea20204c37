package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProcessTreeTest {
    @Test
    void aZombieCountsAsGoneThoughTheJdkCallsItAlive() throws IOException {
        // The child "true" exits at once; its parent, now "sleep", never reaps it, so it stays a zombie.
        Process parent = new ProcessBuilder("sh", "-c", "true & exec sleep 300").start();
        try {
            await().atMost(Duration.ofSeconds(5)).until(() -> zombieChild(parent).isPresent());
            ProcessHandle zombie = zombieChild(parent).orElseThrow();

            assertThat(zombie.isAlive()).isTrue();
            assertThat(ProcessTree.isGone(zombie)).isTrue();
            assertThat(ProcessTree.isGone(parent.toHandle())).isFalse();
        } finally {
            assertThat(ProcessTree.kill(parent.toHandle(), Duration.ofSeconds(2))).isEmpty();
        }
    }

    @Test
    void killEndsTheRootAndAllItsDescendants() throws IOException, InterruptedException {
        Process root = new ProcessBuilder("sh", "-c", "sh -c 'sleep 300 & sleep 300' & sleep 300").start();
        await().atMost(Duration.ofSeconds(5)).until(() -> root.descendants().count() >= 3);
        List<ProcessHandle> tree = root.descendants().collect(java.util.stream.Collectors.toList());

        assertThat(ProcessTree.kill(root.toHandle(), Duration.ofSeconds(2))).isEmpty();

        assertThat(tree).allMatch(ProcessTree::isGone);
        // Killed is not yet reaped: Process.isAlive stays true until the JDK's reaper thread has waited for the exit, which
        // can come a moment after kill returned (seen once in CI, 2026-12-05). The exit itself is the outcome.
        assertThat(root.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).as("the root exits").isTrue();
    }

    private static Optional<ProcessHandle> zombieChild(Process parent) {
        return parent.children().filter(child -> child.isAlive() && ProcessTree.isGone(child)).findFirst();
    }
}
