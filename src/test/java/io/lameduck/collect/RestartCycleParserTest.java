package io.lameduck.collect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.lameduck.kube.DrainReportEvent;
import io.lameduck.restart.RestartStatus;
import io.lameduck.http.Json;
import io.lameduck.drain.Trigger;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RestartCycleParserTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");

    private static Event event(String report) {
        return new EventBuilder().withNewMetadata().withNamespace("shop").withName("web-1.cycle").withUid("uid-9")
                .withCreationTimestamp("2026-12-05T12:00:00Z").addToLabels(DrainReportEvent.REPORT_LABEL, DrainReportEvent.RESTART_KIND)
                .withAnnotations(Map.of(DrainReportEvent.WORKLOAD_KIND, "StatefulSet", DrainReportEvent.WORKLOAD, "db",
                        DrainReportEvent.RESTART_REPORT, report))
                .endMetadata().withNewInvolvedObject().withKind("Pod").withName("db-0").endInvolvedObject().build();
    }

    /** The status exactly as the agent serialises it: whatever the trigger (none is listed here), it is read as a label. */
    @Test
    void readsTheEndedCycleTheAgentWritesAndIsDispatchedByItsLabel() throws Exception {
        for (Trigger trigger : Trigger.values()) {
            String json = Json.write(new RestartStatus(false, "restored-without-restart", trigger, NOW.minusSeconds(40), NOW, List.of("app"),
                    "restart-7", "no container stopped"));
            Report read = Collector.parse(event(json));
            assertThat(read).isEqualTo(new RestartCycleEnd("uid-9", NOW, new WorkloadKey("shop", "StatefulSet", "db"), "db-0", "restart-7",
                    trigger.label(), "restored-without-restart"));
        }
    }

    @Test
    void aCycleStillInProgressOrWithAHostilePhaseIsInvalid() {
        assertThatThrownBy(() -> Collector.parse(event("{\"active\":true,\"phase\":\"awaiting-kill\",\"trigger\":\"container-restart\"}")))
                .isInstanceOf(InvalidReportException.class).hasMessageContaining("still in progress");
        assertThatThrownBy(() -> Collector.parse(event("{\"active\":false,\"phase\":\"" + "x".repeat(40) + "\",\"trigger\":\"container-exit\"}")))
                .isInstanceOf(InvalidReportException.class).hasMessageContaining("phase is missing or not a short word");
        assertThatThrownBy(() -> Collector.parse(event("{\"active\":false,\"phase\":\"restored\",\"trigger\":\"container-exit\",\"drainId\":\""
                + "r".repeat(200) + "\"}"))).isInstanceOf(InvalidReportException.class).hasMessageContaining("drainId is longer than 128");
    }
}
