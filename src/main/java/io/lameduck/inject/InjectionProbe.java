package io.lameduck.inject;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How {@code lameduck check injection} (the chart's {@code helm test} of the injector) tells that injection works: the
 * API server dry-run creates {@link #pod a pod that knows nothing of Lameduck} in a namespace labelled for injection,
 * and the pod it answers with is {@link #judge judged}. Injected means both the {@link Annotations#INJECTED}
 * annotation and the sidecar container (in {@code containers}, or in {@code initContainers} as a native sidecar).
 * Pure: no I/O.
 */
public final class InjectionProbe {
    /** The probe pod's generateName: the API server names it, so no pod of the namespace can be in its way. */
    public static final String NAME_PREFIX = "lameduck-injection-check-";
    /** The probe pod's one container, an ordinary app. */
    public static final String APP_CONTAINER = "app";

    private InjectionProbe() {}

    /** What the API server concluded about the probe pod. */
    public sealed interface Verdict {
        /**
         * @param annotation the value of {@link Annotations#INJECTED}: how it was injected
         * @param nativeSidecar the sidecar came as an init container with restartPolicy Always
         */
        record Injected(String annotation, boolean nativeSidecar) implements Verdict {}

        /**
         * @param what what came back instead, one sentence
         * @param definite asking again gives the same answer: the injector saw the pod and chose to leave it
         *     ({@link Annotations#SKIPPED}), or something else changed it. Not definite: no injector changed the pod,
         *     which a webhook the API server does not call yet also explains
         */
        record NotInjected(String what, boolean definite) implements Verdict {}
    }

    /**
     * The probe: one container running {@code image} (never started: it is only dry-run) with a TCP port for the
     * agent to watch, and the restricted Pod Security profile, so that a namespace enforcing it admits the pod
     * (the sidecar the chart renders meets it too).
     */
    public static Pod pod(String image) {
        return new PodBuilder()
                .withNewMetadata().withGenerateName(NAME_PREFIX).addToLabels("app.kubernetes.io/name", "lameduck-injection-check")
                .endMetadata()
                .withNewSpec().withTerminationGracePeriodSeconds(30L)
                    .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(65532L)
                        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                    .addNewContainer().withName(APP_CONTAINER).withImage(image)
                        .addNewPort().withName("http").withContainerPort(8080).withProtocol("TCP").endPort()
                        .withNewSecurityContext().withAllowPrivilegeEscalation(false)
                            .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                    .endContainer()
                .endSpec().build();
    }

    /** Whether {@code answered}, the pod the API server answered a dry run with, was injected with {@code sidecarName}. */
    public static Verdict judge(Pod answered, String sidecarName) {
        Map<String, String> annotations = Optional.ofNullable(answered.getMetadata().getAnnotations()).orElse(Map.of());
        String injected = annotations.get(Annotations.INJECTED);
        boolean classic = named(answered.getSpec().getContainers(), sidecarName);
        boolean nativeSidecar = named(answered.getSpec().getInitContainers(), sidecarName);
        String skipped = annotations.get(Annotations.SKIPPED);
        if (skipped != null) {
            return new Verdict.NotInjected("the injector saw the pod and left it unchanged (" + Annotations.SKIPPED + ": " + skipped + ")", true);
        }
        if (injected != null && (classic || nativeSidecar)) {
            return new Verdict.Injected(injected, nativeSidecar);
        }
        if (injected != null) {
            return new Verdict.NotInjected("the pod carries " + Annotations.INJECTED + "=" + injected + " but no container named "
                    + sidecarName + " (containers: " + names(answered.getSpec().getContainers()) + ", initContainers: "
                    + names(answered.getSpec().getInitContainers()) + "); is " + sidecarName + " the injector's sidecar.name?", true);
        }
        if (classic || nativeSidecar) {
            return new Verdict.NotInjected("the pod has a container named " + sidecarName + " but no " + Annotations.INJECTED
                    + " annotation: something other than the Lameduck injector added it", true);
        }
        return new Verdict.NotInjected("the pod came back as it was sent: no " + sidecarName + " container and no "
                + Annotations.INJECTED + " annotation, so no injector changed it", false);
    }

    /** What to look at when the pods of {@code namespace} come back uninjected and the injector did not say why. */
    public static List<String> whatToCheck(String namespace) {
        return List.of(
                "the injector's pods are Ready and log no errors: kubectl get pods -A -l app.kubernetes.io/component=injector, "
                        + "then kubectl -n <their namespace> logs <pod>",
                "the webhook is registered and reaches them: kubectl get mutatingwebhookconfigurations -l app.kubernetes.io/name=lameduck "
                        + "(its caBundle must be the CA of the injector's certificate), and the injector's Service has endpoints",
                "namespace " + namespace + " is labelled " + Annotations.INJECT + "=enabled and is not excluded (kube-system, the "
                        + "release namespace and injector.excludeNamespaces never are injected)",
                "with failurePolicy Ignore the API server admits pods uninjected when it cannot reach the injector, and counts them in "
                        + "apiserver_admission_webhook_fail_open_count{name=\"namespace.inject.lameduck.io\"} (kubectl get --raw /metrics): "
                        + "a NetworkPolicy, a firewall or no route between the API server and the injector's pods, or a timeoutSeconds "
                        + "too short");
    }

    private static boolean named(List<Container> containers, String name) {
        return containers != null && containers.stream().anyMatch(c -> name.equals(c.getName()));
    }

    private static String names(List<Container> containers) {
        return containers == null || containers.isEmpty() ? "none" : String.join(", ", containers.stream().map(Container::getName).toList());
    }
}
