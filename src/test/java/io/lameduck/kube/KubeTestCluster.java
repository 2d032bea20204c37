package io.lameduck.kube;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.awaitility.Awaitility;

/**
 * A real control plane for the {@code kube}-tagged tests: etcd and kube-apiserver started by fabric8
 * kube-api-test from the binaries {@code scripts/install/kube-binaries.sh} builds, plus a kube-controller-manager
 * running only the EndpointSlice controller. One per test JVM (started by the first test class that asks,
 * stopped when the JVM exits). There is no kubelet: {@link TestKubelet} plays its part for pod status. Tests reach
 * it through {@link KubeFixture}, which gives each test (or class) a namespace of its own and cleans it up.
 */
final class KubeTestCluster {
    static final String KUBE_VERSION = "1.34.2";
    /** The Role rules the Helm chart ships; the agent's service account in the tests gets exactly these. */
    static final Path ROLE_RULES = Path.of("helm/lameduck/files/role-rules.yaml");

    private static KubeTestCluster instance;

    private final KubeAPIServer apiServer;
    private final Process controllerManager;
    private final Config adminConfig;
    private final KubernetesClient admin;
    private final TestKubelet kubelet;
    private final AtomicInteger names = new AtomicInteger();

    static synchronized KubeTestCluster get() {
        if (instance == null) {
            instance = new KubeTestCluster();
            Runtime.getRuntime().addShutdownHook(new Thread(instance::stop, "kube-test-cluster-stop"));
        }
        return instance;
    }

    private KubeTestCluster() {
        Path testDir = Path.of(System.getenv().getOrDefault("LAMEDUCK_CACHE", System.getProperty("user.home") + "/.cache/lameduck"), "kube");
        Path binaries = testDir.resolve("k8s").resolve(KUBE_VERSION + "-linux-amd64");
        for (String binary : List.of("etcd", "kube-apiserver", "kube-controller-manager", "kubectl")) {
            if (!Files.isExecutable(binaries.resolve(binary))) {
                fail("missing " + binaries.resolve(binary) + ": run scripts/install/kube-binaries.sh first (it builds the Kubernetes "
                        + KUBE_VERSION + " binaries the kube-tagged tests run against; the project's test command runs it)");
            }
        }
        apiServer = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(testDir.toString())
                .withApiServerVersion(KUBE_VERSION)
                .withOfflineMode(true)
                .withUpdateKubeConfig(false)
                .withStartupTimeout(120_000)
                .withApiServerFlag("--bind-address", "127.0.0.1")
                .build());
        apiServer.start();
        String kubeconfig = apiServer.getKubeConfigYaml();
        adminConfig = Config.fromKubeconfig(kubeconfig);
        admin = new KubernetesClientBuilder().withConfig(adminConfig).build();
        controllerManager = startControllerManager(binaries.resolve("kube-controller-manager"), kubeconfig);
        kubelet = new TestKubelet(admin);
        awaitEndpointSliceController();
    }

    private static Process startControllerManager(Path binary, String kubeconfig) {
        try {
            Path dir = Files.createDirectories(Path.of("target", "kube"));
            Path file = dir.resolve("kubeconfig.yaml");
            Files.writeString(file, kubeconfig);
            return new ProcessBuilder(binary.toString(),
                    "--kubeconfig=" + file.toAbsolutePath(),
                    "--controllers=endpointslice",
                    "--leader-elect=false",
                    "--use-service-account-credentials=false",
                    "--bind-address=127.0.0.1",
                    "--secure-port=0")
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("kube-controller-manager.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + binary + ": " + e.getMessage(), e);
        }
    }

    /** The controller writes an (empty) EndpointSlice for every Service with a selector: wait for one. */
    private void awaitEndpointSliceController() {
        String namespace = namespace("probe");
        service(namespace, "probe", Map.of("app", "nothing"));
        Awaitility.await("kube-controller-manager's EndpointSlice controller (log: target/kube/kube-controller-manager.log)")
                .atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    if (!controllerManager.isAlive()) {
                        fail("kube-controller-manager exited with " + controllerManager.exitValue() + "; see target/kube/kube-controller-manager.log");
                    }
                    return !admin.discovery().v1().endpointSlices().inNamespace(namespace)
                            .withLabel(EndpointVerifier.SERVICE_NAME_LABEL, "probe").list().getItems().isEmpty();
                });
    }

    KubernetesClient admin() {
        return admin;
    }

    Config adminConfig() {
        return adminConfig;
    }

    TestKubelet kubelet() {
        return kubelet;
    }

    /**
     * A fresh namespace. Nothing here empties a deleted namespace (there is no namespace controller):
     * {@link KubeFixture} deletes its pods and then the namespace; the rest goes with the cluster.
     */
    String namespace(String prefix) {
        String name = prefix + "-" + names.incrementAndGet();
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        return name;
    }

    /** A ClusterIP Service on port 80 → 8080 selecting {@code selector}. */
    Service service(String namespace, String name, Map<String, String> selector) {
        return admin.services().inNamespace(namespace).resource(new ServiceBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withSelector(selector)
                    .addNewPort().withName("http").withPort(80).withNewTargetPort(8080).endPort()
                .endSpec().build()).create();
    }

    /**
     * A client authenticated as a new ServiceAccount (a real token from the TokenRequest API), bound to a
     * Role made from {@link #ROLE_RULES} when {@code withRole}.
     */
    KubernetesClient agentClient(String namespace, String serviceAccount, boolean withRole) {
        String token = agentToken(namespace, serviceAccount, withRole ? rules -> rules : null);
        return new KubernetesClientBuilder().withConfig(clientConfig(adminConfig.getMasterUrl(), token)).build();
    }

    /**
     * The token of a new ServiceAccount bound to a Role whose rules are {@code rules} applied to the chart's
     * (a test takes a verb away to see a real 403); no Role when {@code rules} is null.
     */
    String agentToken(String namespace, String serviceAccount, UnaryOperator<List<PolicyRule>> rules) {
        admin.serviceAccounts().inNamespace(namespace).resource(new ServiceAccountBuilder()
                .withNewMetadata().withName(serviceAccount).endMetadata().build()).create();
        if (rules != null) {
            Role role = roleFromChart();
            admin.rbac().roles().inNamespace(namespace).resource(new RoleBuilder(role)
                    .withNewMetadata().withName(serviceAccount).endMetadata()
                    .withRules(rules.apply(role.getRules())).build()).create();
            admin.rbac().roleBindings().inNamespace(namespace).resource(new RoleBindingBuilder()
                    .withNewMetadata().withName(serviceAccount).endMetadata()
                    .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName(serviceAccount).endRoleRef()
                    .addNewSubject().withKind("ServiceAccount").withName(serviceAccount).withNamespace(namespace).endSubject()
                    .build()).create();
        }
        return admin.serviceAccounts().inNamespace(namespace).withName(serviceAccount)
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
                .getStatus().getToken();
    }

    /** Config for the API at {@code masterUrl} with a bearer token, trusting the test API server's certificate. */
    Config clientConfig(String masterUrl, String token) {
        return new ConfigBuilder(Config.empty())
                .withMasterUrl(masterUrl)
                .withCaCertFile(adminConfig.getCaCertFile())
                .withCaCertData(adminConfig.getCaCertData())
                .withOauthToken(token)
                .build();
    }

    static Role roleFromChart() {
        try {
            return new ObjectMapper(new YAMLFactory()).readValue(ROLE_RULES.toFile(), Role.class);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + ROLE_RULES.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    private void stop() {
        try {
            kubelet.close();
            admin.close();
        } finally {
            controllerManager.destroy();
            try {
                if (!controllerManager.waitFor(5, TimeUnit.SECONDS)) {
                    controllerManager.destroyForcibly();
                }
            } catch (InterruptedException e) {
                controllerManager.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            apiServer.stop();
        }
    }
}
