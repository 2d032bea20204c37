package io.lameduck.drain;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.config.Cidr;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The tracker against real connections on loopback, read from the real /proc/net/tcp. */
class NewConnectionTrackerTest {
    @Test
    void connectionsOpenedAfterTheStartAreNewAndTheirSourceIsReported() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            Socket before = app.connect();
            NewConnectionTracker tracker = NewConnectionTracker.start(app.connections(), Ticker.SYSTEM, Clock.systemUTC());
            assertThat(tracker.poll()).as("the connection open at the start is the baseline").isZero();
            assertThat(tracker.lastNewConnection()).isEmpty();

            Socket first = app.connect();
            Socket second = app.connect();
            assertThat(tracker.poll()).isEqualTo(2);
            before.close(); // an old connection closing is not a new one
            assertThat(tracker.poll()).isZero();

            TrafficReport report = tracker.report();
            assertThat(report.ports()).containsExactly(app.port());
            assertThat(report.newConnections()).isEqualTo(2);
            assertThat(report.lastNewConnectionSeconds()).isNotNull().isGreaterThanOrEqualTo(0.0);
            assertThat(report.lastNewConnectionAt()).isNotNull();
            assertThat(report.lastNewConnectionPeer()).isIn(
                    "127.0.0.1:" + first.getLocalPort(), "127.0.0.1:" + second.getLocalPort());
            assertThat(report.sources()).extracting(TrafficReport.Source::address, TrafficReport.Source::newConnections)
                    .containsExactly(org.assertj.core.api.Assertions.tuple("127.0.0.1", 2));
            assertThat(report.error()).isNull();
        }
    }

    @Test
    void aConnectionThatClosedBeforeThePollIsStillSeenWhileTheKernelListsIt() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            NewConnectionTracker tracker = NewConnectionTracker.start(app.connections(), Ticker.SYSTEM, Clock.systemUTC());
            app.connect().close(); // the server side is left in CLOSE_WAIT until the app closes it
            assertThat(tracker.poll()).isEqualTo(1);
        }
    }

    @Test
    void ignoredPeersAreNotCounted() throws Exception {
        try (LoopbackApp app = new LoopbackApp()) {
            NewConnectionTracker tracker = NewConnectionTracker.start(
                    app.connections(Cidr.parse("127.0.0.0/8").orElseThrow()), Ticker.SYSTEM, Clock.systemUTC());
            app.connect();
            assertThat(tracker.poll()).isZero();
            assertThat(tracker.report().newConnections()).isZero();
            assertThat(tracker.quietFor()).isGreaterThan(Duration.ZERO);
        }
    }
}
