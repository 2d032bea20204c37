package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * What the agent does once it knows the kubelet is evicting its pod (the kubelet's Evicted Event; reading it from a real
 * API server and the eviction itself are proven on the real node, EvictionOnNodeTest): a deadline the kubelet's 2 s
 * allow, and the readiness-gate withdrawal also sets Ready False.
 */
class KubeletEvictionBudgetTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Pod pod(long grace) {
        return new PodBuilder().withNewMetadata().withName("p").withResourceVersion("7").endMetadata()
                .withNewSpec().withTerminationGracePeriodSeconds(grace).endSpec()
                .withNewStatus().addNewCondition().withType("Ready").withStatus("True").endCondition()
                .addNewCondition().withType("lameduck.io/serving").withStatus("True").endCondition().endStatus().build();
    }

    @Test
    void anEvictedPodsBudgetIsTheKubeletsTwoSecondsNotItsGracePeriod() {
        var budget = PodBudgetSource.evicted(pod(30), "Evicted: Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\".");
        assertThat(budget.total()).isEqualTo(Duration.ofSeconds(2));
        assertThat(budget.source()).startsWith("kubelet eviction (Event Evicted: Usage of EmptyDir volume");
        assertThat(budget.margin()).as("the app's own 2 s come after its preStop: only the agent's stop is left out")
                .contains(Duration.ofMillis(500));
        assertThat(PodBudgetSource.evicted(pod(1), "Evicted: x").total()).as("a shorter grace period still wins").isEqualTo(Duration.ofSeconds(1));
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
