package io.lameduck.collect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.lameduck.kube.DrainReportEvent;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class TerminationParserTest {
    static final String REPORT = """
            {"id":"drain-1","trigger":"prestop","outcome":"completed","durationSeconds":3.25,"finishedAt":"2026-12-05T11:59:59.250Z",
             "steps":[{"name":"unready","outcome":"completed","durationSeconds":0.0},
                      {"name":"withdraw","outcome":"completed","durationSeconds":0.9},
                      {"name":"propagate","outcome":"completed","durationSeconds":2.1},
                      {"name":"hooks","outcome":"skipped","durationSeconds":0.0}],
             "hooks":[],
             "traffic":{"ports":[8080],"withdrawnSeconds":0.9,"lastRequestSeconds":1.7,"requiredQuietSeconds":1.0,"stopped":true,"arrivalsAfterWithdrawal":9}}
            """;

    static Event event(Map<String, String> annotations) {
        return new EventBuilder().withNewMetadata().withNamespace("shop").withName("web-1.abc").withUid("uid-1")
                .withCreationTimestamp("2026-12-05T12:00:00Z").addToLabels(DrainReportEvent.REPORT_LABEL, DrainReportEvent.REPORT_KIND)
                .withAnnotations(annotations).endMetadata()
                .withNewInvolvedObject().withKind("Pod").withName("web-7d4b9-x2x").endInvolvedObject().build();
    }

    static Map<String, String> annotations(String report) {
        Map<String, String> annotations = new HashMap<>();
        annotations.put(DrainReportEvent.WORKLOAD_KIND, "Deployment");
        annotations.put(DrainReportEvent.WORKLOAD, "web");
        annotations.put(DrainReportEvent.REPORT, report);
        return annotations;
    }

    @Test
    void readsWhatCountingNeedsFromTheAgentsEvent() throws Exception {
        Termination t = TerminationParser.parse(event(annotations(REPORT)));

        assertThat(t.eventUid()).isEqualTo("uid-1");
        assertThat(t.recordedAt()).isEqualTo(Instant.parse("2026-12-05T12:00:00Z"));
        assertThat(t.finishedAt()).isEqualTo(Instant.parse("2026-12-05T11:59:59.250Z"));
        assertThat(t.workload()).isEqualTo(new WorkloadKey("shop", "Deployment", "web"));
        assertThat(t.pod()).isEqualTo("web-7d4b9-x2x");
        assertThat(t.trigger()).isEqualTo("prestop");
        assertThat(t.outcome()).isEqualTo("completed");
        assertThat(t.durationSeconds()).isEqualTo(3.25);
        assertThat(t.stepSeconds()).containsExactlyInAnyOrderEntriesOf(Map.of("unready", 0.0, "withdraw", 0.9, "propagate", 2.1));
        assertThat(t.withdrawalConfirmed()).isTrue();
        assertThat(t.trafficStopped()).isTrue();
        assertThat(t.trafficAfterWithdrawalSeconds()).isCloseTo(0.8, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(t.arrivalsAfterWithdrawal()).isEqualTo(9);
    }

    @Test
    void theCauseIsOneOfTheAgentsKindsAndAnyOtherWordIsOtherDisruption() throws Exception {
        assertThat(TerminationParser.parse(event(annotations(REPORT))).cause()).as("a rollout's report names none").isNull();
        for (String kind : new String[] {"kubelet-eviction", "termination-by-kubelet", "preemption-by-scheduler", "eviction-by-eviction-api",
                "deletion-by-taint-manager", "deletion-by-pod-gc", "other-disruption"}) {
            assertThat(TerminationParser.parse(event(annotations(withCause("{\"kind\":\"" + kind + "\",\"detail\":\"x\"}")))).cause())
                    .isEqualTo(kind);
        }
        // Bounded whatever a forged or newer report says: one label value for all the rest.
        assertThat(TerminationParser.parse(event(annotations(withCause("{\"kind\":\"" + "x".repeat(500) + "\"}")))).cause())
                .isEqualTo("other-disruption");
        assertThat(TerminationParser.parse(event(annotations(withCause("{\"kind\":7}")))).cause()).isNull();
        assertThat(TerminationParser.parse(event(annotations(withCause("\"kubelet-eviction\"")))).cause()).isNull();
    }

    private static String withCause(String cause) {
        return REPORT.replace("\"durationSeconds\":3.25,", "\"durationSeconds\":3.25,\"cause\":" + cause + ",");
    }

    @Test
    void withoutATrafficWatchNothingIsSaidAboutTraffic() throws Exception {
        Termination t = TerminationParser.parse(event(annotations(
                "{\"trigger\":\"signal\",\"outcome\":\"failed\",\"durationSeconds\":1,\"steps\":[{\"name\":\"withdraw\",\"outcome\":\"timed_out\",\"durationSeconds\":1}]}")));
        assertThat(t.withdrawalConfirmed()).isFalse();
        assertThat(t.trafficStopped()).isNull();
        assertThat(t.trafficAfterWithdrawalSeconds()).isNull();
        assertThat(t.arrivalsAfterWithdrawal()).isNull();
    }

    static Stream<Arguments> invalid() {
        Map<String, String> noReport = annotations(REPORT);
        noReport.remove(DrainReportEvent.REPORT);
        Map<String, String> badKind = annotations(REPORT);
        badKind.put(DrainReportEvent.WORKLOAD_KIND, "Deploy ment");
        return Stream.of(
                Arguments.of(noReport, "no annotation lameduck.io/drain-report"),
                Arguments.of(badKind, "out of bounds"),
                Arguments.of(annotations("{\"trigger\":"), "is not JSON"),
                Arguments.of(annotations("[1,2]"), "is not a JSON object"),
                Arguments.of(annotations("{\"trigger\":\"prestop\",\"outcome\":\"running\",\"durationSeconds\":1}"), "still running"),
                Arguments.of(annotations("{\"trigger\":\"<script>alert(1)</script>\",\"outcome\":\"completed\",\"durationSeconds\":1}"),
                        "trigger is missing or not a short word"),
                Arguments.of(annotations("{\"trigger\":\"prestop\",\"outcome\":\"completed\"}"), "no durationSeconds"),
                Arguments.of(annotations("{\"trigger\":\"prestop\",\"outcome\":\"completed\",\"durationSeconds\":-1}"), "no durationSeconds"),
                Arguments.of(annotations("x".repeat(DrainReportEvent.MAX_REPORT_BYTES + 1)), "out of bounds"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void anEventThatDoesNotHoldAReportIsInvalidAndSaysWhy(Map<String, String> annotations, String why) {
        assertThatThrownBy(() -> TerminationParser.parse(event(annotations)))
                .isInstanceOf(InvalidReportException.class).hasMessageStartingWith("Event shop/web-1.abc: ").hasMessageContaining(why);
    }
}
