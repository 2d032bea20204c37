package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The Kubernetes fixture of the {@code kube}-tagged tests, a JUnit extension after java-operator-sdk's
 * {@code LocallyRunOperatorExtension}: a namespace of its own on the shared {@link KubeTestCluster} (real etcd,
 * kube-apiserver and EndpointSlice controller; {@link TestKubelet} for pod status), created before and deleted after,
 * with the admin client, the agent's client and the pods, Services and endpoint waits the tests build on.
 *
 * <pre>{@code
 * @RegisterExtension
 * final KubeFixture cluster = KubeFixture.namespacePerTest("withdraw");   // or, on a static field: namespacePerClass
 *
 * Pod pod = cluster.servingPod("web", labels("web", true), 30);          // Ready, behind Service web, endpoint ready
 * KubeIntegration.using(config, cluster.agentClient(), cluster.identity("web"), registry);
 * }</pre>
 *
 * <p>{@link #namespacePerTest} is registered on an instance field: a fresh namespace before each test, deleted after
 * it. {@link #namespacePerClass} is registered on a static field: one namespace for the class, deleted after its last
 * test (for a class that shares what its {@code @BeforeAll} builds).
 *
 * <p>Clean-up, also when the test failed: the clients the fixture made are closed; then, in each of its namespaces,
 * the pods are deleted with grace period 0 (there is no kubelet to finish a graceful deletion, so a pod deleted by a
 * test stays Terminating until then) and the namespace is deleted. The test cluster runs no namespace controller, so
 * what else was in it (Services, EndpointSlices, Events, RBAC) stays in the Terminating namespace until the cluster
 * goes with the JVM. Every step runs even when an earlier one failed; the failures are thrown together at the end.
 */
final class KubeFixture implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    /** The ServiceAccount of {@link #agentClient()}: the name the chart gives the agents' account. */
    static final String AGENT_ACCOUNT = "lameduck";

    private final String prefix;
    private final boolean perClass;
    private KubeTestCluster cluster;
    private String namespace;
    private final List<String> namespaces = new ArrayList<>();
    private final List<KubernetesClient> clients = new ArrayList<>();
    private KubernetesClient agentClient;

    private KubeFixture(String prefix, boolean perClass) {
        this.prefix = prefix;
        this.perClass = perClass;
    }

    /** A namespace named after {@code prefix} for each test; register it on an instance field. */
    static KubeFixture namespacePerTest(String prefix) {
        return new KubeFixture(prefix, false);
    }

    /** One namespace named after {@code prefix} for the whole class; register it on a static field. */
    static KubeFixture namespacePerClass(String prefix) {
        return new KubeFixture(prefix, true);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (perClass) {
            open();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (!perClass) {
            open();
        } else if (namespace == null) {
            throw new ExtensionConfigurationException("KubeFixture.namespacePerClass(\"" + prefix + "\") in "
                    + context.getRequiredTestClass().getSimpleName() + " must be registered on a static field (on an instance "
                    + "field JUnit never calls its beforeAll); use namespacePerTest for a namespace per test");
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!perClass) {
            close();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (perClass) {
            close();
        }
    }

    private void open() {
        cluster = KubeTestCluster.get();
        namespace = newNamespace(prefix);
    }

    private void close() {
        List<Exception> failures = new ArrayList<>();
        for (KubernetesClient client : clients) {
            run(failures, client::close);
        }
        for (String ns : namespaces) {
            run(failures, () -> admin().pods().inNamespace(ns).withGracePeriod(0).delete());
            run(failures, () -> admin().namespaces().withName(ns).delete());
        }
        clients.clear();
        namespaces.clear();
        agentClient = null;
        namespace = null;
        if (!failures.isEmpty()) {
            IllegalStateException failed = new IllegalStateException("cleaning up KubeFixture " + prefix + ": "
                    + failures.size() + " step(s) failed");
            failures.forEach(failed::addSuppressed);
            throw failed;
        }
    }

    private static void run(List<Exception> failures, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }

    // ------------------------------------------------------------------------------------------- the cluster

    /** The cluster's admin client (shared by every test: never close it). */
    KubernetesClient admin() {
        return cluster().admin();
    }

    /** The admin client's configuration: the API server's URL and the CA its certificate is signed by. */
    Config adminConfig() {
        return cluster().adminConfig();
    }

    /** Config for the API at {@code masterUrl} with a bearer token, trusting the test API server's certificate. */
    Config clientConfig(String masterUrl, String token) {
        return cluster().clientConfig(masterUrl, token);
    }

    private KubeTestCluster cluster() {
        if (cluster == null) {
            throw new IllegalStateException("KubeFixture " + prefix + " is used outside a test: register it with @RegisterExtension");
        }
        return cluster;
    }

    // ------------------------------------------------------------------------------------------- the namespace

    /** The fixture's namespace. */
    String namespace() {
        cluster();
        return namespace;
    }

    /** Another fresh namespace (for a test that needs more than one, or one labelled its own way), cleaned up with the fixture's. */
    String newNamespace(String prefix) {
        String ns = cluster().namespace(prefix);
        namespaces.add(ns);
        return ns;
    }

    /** The identity of pod {@code name} in the fixture's namespace, as the agent in that pod knows it. */
    PodIdentity identity(String name) {
        return new PodIdentity(name, namespace());
    }

    // ------------------------------------------------------------------------------------------- the agent's credentials

    /**
     * A client authenticated as ServiceAccount {@value #AGENT_ACCOUNT} bound to the chart's Role (a real token from the
     * TokenRequest API), made on first use; the fixture closes it.
     */
    KubernetesClient agentClient() {
        if (agentClient == null) {
            agentClient = agentClient(AGENT_ACCOUNT, true);
        }
        return agentClient;
    }

    /** A client authenticated as a new ServiceAccount, bound to the chart's Role when {@code withRole}; the fixture closes it. */
    KubernetesClient agentClient(String serviceAccount, boolean withRole) {
        KubernetesClient client = cluster().agentClient(namespace(), serviceAccount, withRole);
        clients.add(client);
        return client;
    }

    /**
     * The token of a new ServiceAccount bound to a Role whose rules are {@code rules} applied to the chart's (a test takes
     * a verb away to see a real 403); no Role when {@code rules} is null.
     */
    String agentToken(String serviceAccount, UnaryOperator<List<PolicyRule>> rules) {
        return cluster().agentToken(namespace(), serviceAccount, rules);
    }

    /** A kubeconfig at {@code file} for the test API server as the holder of {@code token} (what a process or the CLI reads). */
    Path kubeconfig(Path file, String token) throws IOException {
        return KubeTestSupport.tokenKubeconfig(file, adminConfig().getMasterUrl().replaceAll("/$", ""), token, adminConfig());
    }

    // ------------------------------------------------------------------------------------------- pods and Services

    /**
     * Creates a pod on the test node and waits until it runs and is Ready (with readiness gates, only once they are True:
     * the test or the agent sets them). See {@link TestKubelet#runPod}.
     */
    Pod runPod(String name, Map<String, String> labels, List<String> readinessGates, long gracePeriodSeconds) {
        return cluster().kubelet().runPod(namespace(), name, labels, readinessGates, gracePeriodSeconds);
    }

    /** A ClusterIP Service on port 80 → 8080 selecting {@code selector}. */
    Service service(String name, Map<String, String> selector) {
        return cluster().service(namespace(), name, selector);
    }

    /**
     * A Ready pod {@code name} with {@code labels} (no readiness gate), a Service of the same name selecting those labels,
     * and the pod's endpoint ready in it.
     */
    Pod servingPod(String name, Map<String, String> labels, long gracePeriodSeconds) {
        Pod pod = runPod(name, labels, List.of(), gracePeriodSeconds);
        service(name, labels);
        awaitEndpoint(name, pod, true);
        return pod;
    }

    /** Pod {@code name} as the API has it now. */
    Pod pod(String name) {
        return admin().pods().inNamespace(namespace()).withName(name).get();
    }

    /** The pod's {@code lameduck.io/serving} label (what the {@code label} strategy flips), or null. */
    String servingLabel(String pod) {
        return pod(pod).getMetadata().getLabels().get("lameduck.io/serving");
    }

    /** Deletes pod {@code name} with that grace period; with no kubelet to finish it, a grace period above 0 leaves it Terminating. */
    void deletePod(String name, long gracePeriodSeconds) {
        admin().pods().inNamespace(namespace()).withName(name).withGracePeriod(gracePeriodSeconds).delete();
    }

    /** Sets the application container's readiness, as a readiness probe result would. */
    void containersReady(String pod, boolean ready) {
        cluster().kubelet().containersReady(namespace(), pod, ready);
    }

    /** The reasons of the Events on pod {@code name}. */
    List<String> eventReasons(String pod) {
        return admin().v1().events().inNamespace(namespace()).withField("involvedObject.name", pod).list()
                .getItems().stream().map(Event::getReason).toList();
    }

    // ------------------------------------------------------------------------------------------- endpoints

    /** The pod's endpoint in the Service's EndpointSlices: its {@code ready} condition (missing counts as true), or empty when not listed. */
    Optional<Boolean> endpointReady(String service, Pod pod) {
        return endpointCondition(service, pod, EndpointConditions::getReady);
    }

    /** The pod's endpoint in the Service's EndpointSlices: its {@code serving} condition (missing counts as true), or empty when not listed. */
    Optional<Boolean> endpointServing(String service, Pod pod) {
        return endpointCondition(service, pod, EndpointConditions::getServing);
    }

    private Optional<Boolean> endpointCondition(String service, Pod pod, Function<EndpointConditions, Boolean> condition) {
        return admin().discovery().v1().endpointSlices().inNamespace(namespace())
                .withLabel(EndpointVerifier.SERVICE_NAME_LABEL, service).list().getItems().stream()
                .flatMap(slice -> slice.getEndpoints() == null ? Stream.<Endpoint>empty() : slice.getEndpoints().stream())
                .filter(e -> e.getTargetRef() != null && pod.getMetadata().getUid().equals(e.getTargetRef().getUid()))
                .map(e -> condition.apply(e.getConditions()))
                .map(value -> value == null || value)
                .findFirst();
    }

    /** Waits (20 s at most) until the pod's endpoint in the Service is {@code ready} (true/false), or gone ({@code null}). */
    void awaitEndpoint(String service, Pod pod, Boolean ready) {
        Awaitility.await("endpoint of " + pod.getMetadata().getName() + " in Service " + service + " " + (ready == null ? "gone" : "ready=" + ready))
                .atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                .until(() -> Objects.equals(endpointReady(service, pod).orElse(null), ready));
    }
}
