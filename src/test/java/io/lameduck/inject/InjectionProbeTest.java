package io.lameduck.inject;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.lameduck.inject.InjectionProbe.Verdict;
import org.junit.jupiter.api.Test;

/**
 * How {@code lameduck check injection} reads the pod a dry run answered with. The probe on the real API server with the
 * chart's webhook: InjectorOnApiServerTest; the whole command against a real API server: CheckCommandOnApiServerTest.
 */
class InjectionProbeTest {
    private static final String INJECTED = "version=0.1.0,strategy=readiness-gate,sidecar=classic";

    @Test
    void theProbeIsAnOrdinaryRestrictedPodWithAPortNamedByTheApiServer() {
        Pod probe = InjectionProbe.pod("registry.example/app:1");
        assertThat(probe.getMetadata().getName()).isNull();
        assertThat(probe.getMetadata().getGenerateName()).isEqualTo("lameduck-injection-check-");
        assertThat(probe.getMetadata().getAnnotations()).as("nothing of Lameduck: no opt-in, no override").isNullOrEmpty();
        assertThat(probe.getMetadata().getLabels()).doesNotContainKey(Annotations.INJECT);
        assertThat(probe.getSpec().getContainers()).singleElement().satisfies(app -> {
            assertThat(app.getName()).isEqualTo("app");
            assertThat(app.getImage()).isEqualTo("registry.example/app:1");
            assertThat(app.getPorts()).singleElement().satisfies(port -> assertThat(port.getContainerPort()).isEqualTo(8080));
            assertThat(app.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
            assertThat(app.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        });
        assertThat(probe.getSpec().getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(probe.getSpec().getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    }

    @Test
    void injectedMeansTheAnnotationAndTheSidecarClassicOrNative() {
        Pod classic = answered().editMetadata().addToAnnotations(Annotations.INJECTED, INJECTED).endMetadata()
                .editSpec().addNewContainer().withName("lameduck").endContainer().endSpec().build();
        assertThat(InjectionProbe.judge(classic, "lameduck")).isEqualTo(new Verdict.Injected(INJECTED, false));

        Pod nativeSidecar = answered().editMetadata().addToAnnotations(Annotations.INJECTED, "sidecar=native").endMetadata()
                .editSpec().addNewInitContainer().withName("agent").withRestartPolicy("Always").endInitContainer().endSpec().build();
        assertThat(InjectionProbe.judge(nativeSidecar, "agent")).isEqualTo(new Verdict.Injected("sidecar=native", true));
    }

    @Test
    void aPodAsSentIsNotInjectedYetAndWorthAskingAgain() {
        Verdict verdict = InjectionProbe.judge(answered().build(), "lameduck");
        assertThat(verdict).isEqualTo(new Verdict.NotInjected("the pod came back as it was sent: no lameduck container and no "
                + "lameduck.io/injected annotation, so no injector changed it", false));
    }

    @Test
    void whatTheInjectorDecidedOrHalfAnInjectionIsDefinite() {
        Pod skipped = answered().editMetadata().addToAnnotations(Annotations.SKIPPED, "conflict: the pod already has a volume named "
                + "lameduck-tmp").endMetadata().build();
        assertThat(InjectionProbe.judge(skipped, "lameduck")).isEqualTo(new Verdict.NotInjected("the injector saw the pod and left it "
                + "unchanged (lameduck.io/skipped: conflict: the pod already has a volume named lameduck-tmp)", true));

        Pod otherName = answered().editMetadata().addToAnnotations(Annotations.INJECTED, INJECTED).endMetadata()
                .editSpec().addNewContainer().withName("lameduck").endContainer().endSpec().build();
        assertThat(InjectionProbe.judge(otherName, "agent")).isEqualTo(new Verdict.NotInjected("the pod carries lameduck.io/injected="
                + INJECTED + " but no container named agent (containers: app, lameduck, initContainers: none); is agent the "
                + "injector's sidecar.name?", true));

        Pod byHand = answered().editSpec().addNewContainer().withName("lameduck").endContainer().endSpec().build();
        assertThat(InjectionProbe.judge(byHand, "lameduck")).isEqualTo(new Verdict.NotInjected("the pod has a container named lameduck "
                + "but no lameduck.io/injected annotation: something other than the Lameduck injector added it", true));
    }

    @Test
    void whatToCheckCoversTheInjectorTheWebhookTheNamespaceLabelAndFailOpen() {
        assertThat(InjectionProbe.whatToCheck("shop")).hasSize(4).satisfiesExactly(
                pods -> assertThat(pods).contains("injector's pods are Ready").contains("app.kubernetes.io/component=injector"),
                webhook -> assertThat(webhook).contains("mutatingwebhookconfigurations").contains("caBundle").contains("endpoints"),
                label -> assertThat(label).contains("namespace shop is labelled lameduck.io/inject=enabled").contains("excludeNamespaces"),
                failOpen -> assertThat(failOpen).contains("failurePolicy Ignore").contains("apiserver_admission_webhook_fail_open_count"));
    }

    /** The probe as the API server answers a dry run: named, with a uid, otherwise as sent. */
    private static PodBuilder answered() {
        return new PodBuilder(InjectionProbe.pod("registry.example/app:1")).editMetadata().withName("lameduck-injection-check-x7k2p")
                .withNamespace("shop").withUid("d0c5").endMetadata();
    }
}
