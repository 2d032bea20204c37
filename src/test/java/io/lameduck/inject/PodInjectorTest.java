package io.lameduck.inject;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lameduck.config.ConfigLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The patch computation on its own. The template here is a small hand-written one in the chart's format; the
 * chart's real rendering is checked by HelmChartTest and used on the real API server by InjectorOnApiServerTest.
 */
class PodInjectorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final String CONFIG = "drain:\\n  budget: 30s\\n  safetyMargin: 2s\\n  withdraw: {strategy: %s}\\nkube: {mode: disabled}\\n";

    private final PodInjector injector = new PodInjector(template(), "1.0");

    @Test
    void plainPodGetsEveryPieceAndASecondPassChangesNothing() throws Exception {
        JsonNode pod = pod("""
                {"metadata": {"generateName": "web-", "labels": {"app": "web"}, "annotations": {"team": "a"}},
                 "spec": {"terminationGracePeriodSeconds": 60,
                          "initContainers": [{"name": "migrate", "image": "m"}],
                          "containers": [{"name": "app", "image": "a", "lifecycle": {"postStart": {"exec": {"command": ["true"]}}}}],
                          "volumes": [{"name": "data", "emptyDir": {}}],
                          "readinessGates": [{"conditionType": "example.com/other"}]}}""");

        Decision.Inject inject = (Decision.Inject) injector.decide(pod);
        JsonNode injected = apply(pod, inject);

        assertThat(names(injected.at("/spec/containers"))).containsExactly("app", "lameduck");
        assertThat(names(injected.at("/spec/initContainers"))).containsExactly("migrate");
        assertThat(injected.at("/spec/containers/0/lifecycle/postStart")).isEqualTo(pod.at("/spec/containers/0/lifecycle/postStart"));
        assertThat(injected.at("/spec/containers/0/lifecycle/preStop/httpGet/path").asText()).isEqualTo("/prestop");
        assertThat(names(injected.at("/spec/volumes"))).containsExactly("data", "lameduck-config", "lameduck-tmp");
        assertThat(injected.at("/spec/readinessGates").toString()).isEqualTo(
                "[{\"conditionType\":\"example.com/other\"},{\"conditionType\":\"lameduck.io/serving\"}]");
        assertThat(injected.at("/metadata/labels").toString()).isEqualTo("{\"app\":\"web\",\"lameduck.io/sidecar\":\"true\"}");
        assertThat(injected.at("/metadata/annotations/team").asText()).isEqualTo("a");
        assertThat(injected.at("/metadata/annotations/lameduck.io~1injected").asText()).isEqualTo("version=1.0,strategy=readiness-gate,sidecar=classic");
        assertThat(new ConfigLoader(Map.of()).parse(injected.at("/metadata/annotations/lameduck.io~1config").asText()).drain().budget())
                .isEqualTo(Duration.ofSeconds(60));
        assertThat(inject.serviceAccount()).isEqualTo("default");
        assertThat(inject.warnings()).isEmpty();

        Decision again = injector.decide(injected);
        assertThat(again).isEqualTo(new Decision.Skip(SkipReason.ALREADY_INJECTED, "already has the lameduck sidecar"));
    }

    @Test
    void aSidecarAddedByHandWithoutTheAnnotationIsNotDoubled() throws Exception {
        JsonNode pod = pod("{\"spec\": {\"containers\": [{\"name\": \"app\"}, {\"name\": \"lameduck\"}]}}");
        assertThat(injector.decide(pod)).isInstanceOf(Decision.Skip.class)
                .extracting(d -> ((Decision.Skip) d).reason()).isEqualTo(SkipReason.ALREADY_INJECTED);
    }

    @Test
    void appPreStopIsKeptListedAndWarnedAbout() throws Exception {
        JsonNode pod = pod("""
                {"spec": {"serviceAccountName": "shop", "containers": [
                  {"name": "app", "lifecycle": {"preStop": {"exec": {"command": ["/bin/flush"]}}}},
                  {"name": "worker"}]}}""");
        Decision.Inject inject = (Decision.Inject) injector.decide(pod);
        JsonNode injected = apply(pod, inject);

        assertThat(injected.at("/spec/containers/0/lifecycle/preStop").toString()).isEqualTo("{\"exec\":{\"command\":[\"/bin/flush\"]}}");
        assertThat(injected.at("/spec/containers/1/lifecycle/preStop/httpGet/port").asInt()).isEqualTo(7979);
        assertThat(injected.at("/metadata/annotations/lameduck.io~1prestop-kept").asText()).isEqualTo("app");
        assertThat(inject.warnings()).singleElement().asString().contains("app keep their own preStop", "in parallel");
        assertThat(inject.serviceAccount()).isEqualTo("shop");
    }

    @Test
    void nativeAndLabelOverridesPickTheirVariant() throws Exception {
        JsonNode pod = pod("""
                {"metadata": {"annotations": {"lameduck.io/native": "true", "lameduck.io/strategy": "label",
                  "lameduck.io/ports": "9090, 9091", "lameduck.io/budget": "20s"}},
                 "spec": {"containers": [{"name": "app"}]}}""");
        JsonNode injected = apply(pod, (Decision.Inject) injector.decide(pod));

        assertThat(names(injected.at("/spec/containers"))).containsExactly("app");
        assertThat(names(injected.at("/spec/initContainers"))).containsExactly("lameduck");
        assertThat(injected.at("/spec/initContainers/0/restartPolicy").asText()).isEqualTo("Always");
        assertThat(injected.at("/spec").has("readinessGates")).isFalse();
        assertThat(injected.at("/metadata/labels/lameduck.io~1serving").asText()).isEqualTo("true");
        JsonNode config = YAML.readTree(injected.at("/metadata/annotations/lameduck.io~1config").asText());
        assertThat(config.at("/drain/propagation/ports").toString()).isEqualTo("[9090,9091]");
        assertThat(config.at("/drain/budget").asText()).isEqualTo("20s");
        assertThat(config.at("/drain/withdraw/strategy").asText()).isEqualTo("label");
    }

    @Test
    void malformedOverridesSkipThePodWithAMessageNamingTheAnnotation() throws Exception {
        assertThat(skip("{\"lameduck.io/strategy\": \"drain\"}")).contains("lameduck.io/strategy is \"drain\"");
        assertThat(skip("{\"lameduck.io/native\": \"yes\"}")).contains("lameduck.io/native is \"yes\"");
        assertThat(skip("{\"lameduck.io/ports\": \"80,http\"}")).contains("lameduck.io/ports is \"80,http\"");
        assertThat(skip("{\"lameduck.io/ports\": \"70000\"}")).contains("1-65535");
        assertThat(skip("{\"lameduck.io/budget\": \"0s\"}")).contains("lameduck.io/budget is \"0s\"");
        assertThat(skip("{\"lameduck.io/budget\": \"1s\"}")).contains("the overrides make a config the agent rejects", "safetyMargin");
    }

    @Test
    void aGracePeriodTooShortForABudgetKeepsTheChartsBudget() throws Exception {
        JsonNode pod = pod("{\"spec\": {\"terminationGracePeriodSeconds\": 2, \"containers\": [{\"name\": \"app\"}]}}");
        JsonNode injected = apply(pod, (Decision.Inject) injector.decide(pod));
        assertThat(YAML.readTree(injected.at("/metadata/annotations/lameduck.io~1config").asText()).at("/drain/budget").asText()).isEqualTo("30s");
    }

    @Test
    void optOutAndVolumeConflictSkip() throws Exception {
        assertThat(injector.decide(pod("{\"metadata\": {\"labels\": {\"lameduck.io/inject\": \"disabled\"}}, \"spec\": {\"containers\": [{\"name\": \"a\"}]}}")))
                .extracting(d -> ((Decision.Skip) d).reason()).isEqualTo(SkipReason.OPTED_OUT);
        assertThat(injector.decide(pod("{\"spec\": {\"containers\": [{\"name\": \"a\"}], \"volumes\": [{\"name\": \"lameduck-tmp\"}]}}")))
                .extracting(d -> ((Decision.Skip) d).reason()).isEqualTo(SkipReason.CONFLICT);
    }

    @Test
    void theWatchedPortsDefaultToTheTcpPortsTheAppContainersDeclare() throws Exception {
        JsonNode pod = pod("""
                {"spec": {"containers": [
                  {"name": "app", "ports": [{"containerPort": 8080}, {"containerPort": 8443, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}]},
                  {"name": "worker", "ports": [{"containerPort": 9000}, {"containerPort": 8080}]}]}}""");
        JsonNode injected = apply(pod, (Decision.Inject) injector.decide(pod));
        JsonNode config = YAML.readTree(injected.at("/metadata/annotations/lameduck.io~1config").asText());
        assertThat(config.at("/drain/propagation/ports").toString()).isEqualTo("[8080,8443,9000]");
    }

    @Test
    void withoutDeclaredPortsTheQuietModeKeepsTheChartsPortsAndWarns() throws Exception {
        PodInjector.Overrides overrides = new PodInjector.Overrides(InjectionTemplate.Strategy.LABEL, false, Optional.empty(), Optional.empty());
        String quiet = "drain: {propagation: {mode: quiet, ports: [8080]}}\nkube: {mode: disabled}\n";
        List<String> warnings = new ArrayList<>();
        String config = PodInjector.agentConfig(quiet, overrides, List.of(), NullNode.getInstance(), warnings);
        assertThat(YAML.readTree(config).at("/drain/propagation/ports").toString()).isEqualTo("[8080]");
        assertThat(warnings).singleElement().asString().contains("no app container declares a TCP containerPort", "[8080]", "lameduck.io/ports");

        List<String> none = new ArrayList<>();
        PodInjector.agentConfig(quiet, overrides, List.of(9000), NullNode.getInstance(), none);
        assertThat(none).isEmpty();
    }

    @Test
    void aSkippedPodIsAnnotatedWithWhyUnlessItIsAlreadyInjected() throws Exception {
        JsonNode pod = pod("{\"metadata\": {\"annotations\": {\"team\": \"a\"}}, \"spec\": {\"containers\": [{\"name\": \"a\"}]}}");
        ArrayNode patch = PodInjector.skipAnnotation(pod, new Decision.Skip(SkipReason.CONFLICT, "the pod already has a volume")).orElseThrow();
        assertThat(patch.toString()).isEqualTo("[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":"
                + "{\"team\":\"a\",\"lameduck.io/skipped\":\"conflict: the pod already has a volume\"}}]");
        assertThat(PodInjector.skipAnnotation(pod, new Decision.Skip(SkipReason.ALREADY_INJECTED, "already has it"))).isEmpty();
        String longMessage = "x".repeat(5000);
        String value = PodInjector.skipAnnotation(pod, new Decision.Skip(SkipReason.INVALID_OVERRIDE, longMessage)).orElseThrow()
                .at("/0/value/lameduck.io~1skipped").asText();
        assertThat(value).hasSize(PodInjector.MAX_SKIP_ANNOTATION).startsWith("invalid_override: xxx").endsWith("...");
    }

    @Test
    void aPodWithoutAnAutomountedTokenGetsOneForTheSidecarAlone() throws Exception {
        JsonNode pod = pod("{\"spec\": {\"automountServiceAccountToken\": false, \"containers\": [{\"name\": \"app\"}]}}");
        JsonNode injected = apply(pod, (Decision.Inject) injector.decide(pod));
        assertThat(injected.at("/spec/automountServiceAccountToken").asBoolean(true)).as("the pod's choice for its app stays").isFalse();
        assertThat(injected.at("/spec/containers/0").has("volumeMounts")).as("the app gets no token").isFalse();
        JsonNode mount = injected.at("/spec/containers/1/volumeMounts").get(injected.at("/spec/containers/1/volumeMounts").size() - 1);
        assertThat(mount.toString()).isEqualTo("{\"name\":\"lameduck-token\",\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\",\"readOnly\":true}");
        JsonNode volume = injected.at("/spec/volumes/2");
        assertThat(volume.at("/name").asText()).isEqualTo("lameduck-token");
        assertThat(volume.at("/projected/sources/0/serviceAccountToken/path").asText()).isEqualTo("token");
        assertThat(volume.at("/projected/sources/1/configMap/name").asText()).isEqualTo("kube-root-ca.crt");
        assertThat(volume.at("/projected/sources/2/downwardAPI/items/0/fieldRef/fieldPath").asText()).isEqualTo("metadata.namespace");

        JsonNode automounted = apply(pod("{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}"),
                (Decision.Inject) injector.decide(pod("{\"spec\": {\"containers\": [{\"name\": \"app\"}]}}")));
        assertThat(names(automounted.at("/spec/volumes"))).doesNotContain("lameduck-token");
    }

    @Test
    void pkcs1KeysAreWrappedAsPkcs8() throws Exception {
        java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA");
        generator.initialize(1024);
        byte[] pkcs8 = generator.generateKeyPair().getPrivate().getEncoded();
        // PKCS#8 = SEQUENCE { 0, rsaEncryption, OCTET STRING pkcs1 }: unwrapping then wrapping again gives it back.
        int at = 0;
        at += 1 + lengthBytes(pkcs8, at + 1); // outer SEQUENCE header
        at += 3; // INTEGER 0
        at += 15; // AlgorithmIdentifier
        int octetHeader = 1 + lengthBytes(pkcs8, at + 1);
        byte[] pkcs1 = java.util.Arrays.copyOfRange(pkcs8, at + octetHeader, pkcs8.length);
        assertThat(PemKeyStore.rsaPkcs1ToPkcs8(pkcs1)).isEqualTo(pkcs8);
    }

    private static int lengthBytes(byte[] der, int at) {
        return (der[at] & 0x80) == 0 ? 1 : 1 + (der[at] & 0x7f);
    }

    private String skip(String annotations) throws Exception {
        Decision decision = injector.decide(pod("{\"metadata\": {\"annotations\": " + annotations + "}, \"spec\": {\"containers\": [{\"name\": \"a\"}]}}"));
        assertThat(decision).isInstanceOf(Decision.Skip.class);
        assertThat(((Decision.Skip) decision).reason()).isEqualTo(SkipReason.INVALID_OVERRIDE);
        return ((Decision.Skip) decision).message();
    }

    /** Applies the "add" operations the injector emits (RFC 6902: add replaces an existing member). */
    private static JsonNode apply(JsonNode pod, Decision.Inject inject) {
        ObjectNode result = pod.deepCopy();
        for (JsonNode op : inject.patch()) {
            assertThat(op.get("op").asText()).isEqualTo("add");
            String[] parts = op.get("path").asText().substring(1).split("/");
            ObjectNode parent = result;
            for (int i = 0; i < parts.length - 1; i++) {
                parent = parent.has(parts[i]) ? (ObjectNode) parent.get(parts[i]) : parent.putObject(parts[i]);
            }
            parent.set(parts[parts.length - 1].replace("~1", "/").replace("~0", "~"), op.get("value"));
        }
        return result;
    }

    private static java.util.List<String> names(JsonNode list) {
        java.util.List<String> names = new java.util.ArrayList<>();
        list.forEach(n -> names.add(n.path("name").asText()));
        return names;
    }

    private static JsonNode pod(String json) throws Exception {
        return JSON.readTree(json);
    }

    static InjectionTemplate template() {
        String variant = """
                  %s:
                    config: "%s"
                    sidecar: {name: lameduck, image: "agent:1", args: [serve]}
                    nativeSidecar: {name: lameduck, image: "agent:1", args: [serve], restartPolicy: Always}
                    preStop: {httpGet: {path: /prestop, port: 7979}}
                    readinessGates: %s
                    podLabels: %s
                    podAnnotations: {checksum/lameduck-config: abc}
                """;
        String yaml = "version: 1\ndefaults: {strategy: readiness-gate, native: false}\nconfigAnnotation: lameduck.io/config\n"
                + "agentClusterRole: lameduck-agent\n"
                + "volumes: [{name: lameduck-config, downwardAPI: {items: []}}, {name: lameduck-tmp, emptyDir: {}}]\nstrategies:\n"
                + variant.formatted("readiness-gate", CONFIG.formatted("readiness-gate"), "[{conditionType: lameduck.io/serving}]", "{lameduck.io/sidecar: \"true\"}")
                + variant.formatted("label", CONFIG.formatted("label"), "[]", "{lameduck.io/sidecar: \"true\", lameduck.io/serving: \"true\"}")
                + variant.formatted("probe", CONFIG.formatted("probe"), "[]", "{lameduck.io/sidecar: \"true\"}");
        try {
            return InjectionTemplate.parse(YAML.readTree(yaml), "test template");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
