package io.lameduck.testsupport;

import java.time.Duration;

/** Time a test allows on top of what it asserts, because the machine that runs it is not idle. */
public final class Slack {
    /**
     * How far past its deadline a drain may end, or a step past its due time: the scheduling slack of a loaded 2-core
     * machine. Tests assert the drain's own time plus this, never a window picked per test.
     */
    public static final Duration TOLERANCE = Duration.ofMillis(250);

    private Slack() {}
}
