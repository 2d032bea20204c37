package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Clock;
import io.lameduck.drain.Cause;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the agent does once it knows the kubelet is evicting its pod (the kubelet's Evicted Event; reading it from a real
 * API server and the eviction itself are proven on the real node, EvictionOnNodeTest): a deadline the kubelet's 2 s
 * allow, the cause the report names, and the readiness-gate withdrawal also sets Ready False.
 */
class KubeletEvictionBudgetTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Pod pod(long grace) {
        return new PodBuilder().withNewMetadata().withName("p").withResourceVersion("7").endMetadata()
                .withNewSpec().withTerminationGracePeriodSeconds(grace).endSpec()
                .withNewStatus().addNewCondition().withType("Ready").withStatus("True").endCondition()
                .addNewCondition().withType("lameduck.io/serving").withStatus("True").endCondition().endStatus().build();
    }

    private static Cause eviction(String message) {
        return new Cause(Cause.Kind.KUBELET_EVICTION, "Evicted: " + message);
    }

    @Test
    void anEvictedPodsBudgetIsTheKubeletsTwoSecondsNotItsGracePeriodAndNamesTheEviction() {
        Cause eviction = eviction("Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\".");
        var budget = PodBudgetSource.evicted(pod(30), eviction);
        assertThat(budget.total()).isEqualTo(Duration.ofSeconds(2));
        assertThat(budget.source()).startsWith("kubelet eviction (Event Evicted: Usage of EmptyDir volume");
        assertThat(budget.margin()).as("the app's own 2 s come after its preStop: only the agent's stop is left out")
                .contains(Duration.ofMillis(500));
        assertThat(budget.cause()).as("the report's cause").contains(eviction);
        assertThat(PodBudgetSource.evicted(pod(1), eviction("x")).total()).as("a shorter grace period still wins").isEqualTo(Duration.ofSeconds(1));
    }

    /**
     * The DisruptionTarget reasons of Kubernetes v1.34 each become their own cause kind, whether the pod is being deleted
     * (Eviction API, scheduler preemption, taint manager, pod GC set the condition before the deletion) or not (the
     * kubelet's TerminationByKubelet); a reason this version does not know is other-disruption with its text kept, and a
     * pod without a True condition has no cause.
     */
    @Test
    void theDisruptionTargetReasonNamesWhoIsTakingThePodAwayWithABoundedKind() {
        Instant now = Instant.parse("2026-12-06T08:00:00Z");
        Map<String, Cause.Kind> reasons = Map.of("EvictionByEvictionAPI", Cause.Kind.EVICTION_BY_EVICTION_API,
                "PreemptionByScheduler", Cause.Kind.PREEMPTION_BY_SCHEDULER, "DeletionByTaintManager", Cause.Kind.DELETION_BY_TAINT_MANAGER,
                "DeletionByPodGC", Cause.Kind.DELETION_BY_POD_GC, "TerminationByKubelet", Cause.Kind.TERMINATION_BY_KUBELET,
                "SomethingNew", Cause.Kind.OTHER_DISRUPTION);
        reasons.forEach((reason, kind) -> {
            Pod deleted = new PodBuilder(disrupted(reason, "True")).editMetadata().withDeletionTimestamp("2026-12-06T08:00:30Z").endMetadata().build();
            var budget = PodBudgetSource.of(deleted, Duration.ofSeconds(30), now);
            assertThat(budget.total()).isEqualTo(Duration.ofSeconds(30));
            assertThat(budget.cause()).as(reason).contains(new Cause(kind, reason + ": the message"));
            assertThat(PodBudgetSource.of(disrupted(reason, "True"), Duration.ofSeconds(30), now).cause()).as(reason + ", no deletion")
                    .contains(new Cause(kind, reason + ": the message"));
        });
        assertThat(PodBudgetSource.of(disrupted("EvictionByEvictionAPI", "False"), Duration.ofSeconds(30), now).cause()).isEmpty();
        assertThat(PodBudgetSource.of(pod(30), Duration.ofSeconds(30), now).cause()).as("a rollout's deletion").isEmpty();
    }

    private static Pod disrupted(String reason, String status) {
        return new PodBuilder(pod(30)).editStatus().addNewCondition().withType("DisruptionTarget").withStatus(status).withReason(reason)
                .withMessage("the message").endCondition().endStatus().build();
    }

    @Test
    void theReadinessGateAlsoSetsReadyFalseOnlyWhileTheKubeletIsKillingThePod() throws Exception {
        ServingSwitch.ReadinessGate usual = new ServingSwitch.ReadinessGate("lameduck.io/serving", Clock.systemUTC());
        JsonNode gateOnly = JSON.readTree(usual.patchFor(pod(30), false).orElseThrow());
        assertThat(gateOnly.path("status").path("conditions").findValuesAsText("type")).containsExactly("lameduck.io/serving");

        ServingSwitch.ReadinessGate evicting = new ServingSwitch.ReadinessGate("lameduck.io/serving", Clock.systemUTC(), () -> true);
        JsonNode both = JSON.readTree(evicting.patchFor(pod(30), false).orElseThrow());
        assertThat(both.path("metadata").path("resourceVersion").asText()).isEqualTo("7");
        assertThat(both.path("status").path("conditions").findValuesAsText("type")).containsExactly("lameduck.io/serving", "Ready");
        assertThat(both.path("status").path("conditions").findValuesAsText("status")).containsExactly("False", "False");

        JsonNode restore = JSON.readTree(evicting.patchFor(pod(30), true).orElse("{}"));
        assertThat(restore.path("status").path("conditions").findValuesAsText("type")).as("Ready stays the kubelet's on restore")
                .doesNotContain("Ready");
        Pod withdrawn = new PodBuilder(pod(30)).editStatus().withConditions().addNewCondition().withType("Ready").withStatus("False")
                .endCondition().addNewCondition().withType("lameduck.io/serving").withStatus("False").endCondition().endStatus().build();
        assertThat(evicting.patchFor(withdrawn, false)).as("nothing left to change").isEmpty();
    }
}
