package io.lameduck.cli;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.AgentConfig.KubeMode;
import io.lameduck.config.ConfigLoader;
import io.lameduck.inject.InjectionProbe;
import io.lameduck.inject.InjectionProbe.Verdict;
import io.lameduck.kube.KubeIntegration;
import io.lameduck.kube.PodDryRun;
import io.lameduck.kube.PodDryRun.Answer;
import io.lameduck.kube.PodIdentity;
import io.lameduck.kube.RbacCheck;
import io.lameduck.kube.RbacReport;
import io.lameduck.logging.LogSetup;
import io.lameduck.time.Deadline;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code lameduck check injection|rbac}: does an install work, asked of the Kubernetes API (the Helm chart's
 * {@code helm test} runs these in a pod). Exit 0 when it does; otherwise what is wrong and what to check, and exit 6
 * ({@link CheckFailedException}). Every API call is bounded; a check asks again, until its {@code --timeout}, only
 * while the answer may still change.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check against the Kubernetes API that an install works (the Helm chart's `helm test` runs these).",
        subcommands = {CheckCommand.Injection.class, CheckCommand.Rbac.class})
final class CheckCommand {
    /** Between two attempts. */
    static final Duration RETRY_PAUSE = Duration.ofSeconds(1);
    /**
     * Another attempt only with at least this long left after the pause: one cut to a few milliseconds would fail on its own
     * limit and hide why the ones before it failed (seen: "did not answer within 28ms" instead of "API unreachable").
     */
    static final Duration SHORTEST_ATTEMPT = Duration.ofSeconds(1);
    /** One dry run at most: above the longest webhook timeout (30 s), so the answer of a slow webhook still arrives. */
    static final Duration DRY_RUN_LIMIT = Duration.ofSeconds(35);
    private static final String NO_ANSWER = "that this pod reaches the API server: its address comes from KUBERNETES_SERVICE_HOST "
            + "(or KUBECONFIG), and an egress NetworkPolicy of this namespace may block it";

    private CheckCommand() {}

    @Command(name = "injection", mixinStandardHelpOptions = true,
            description = "Dry-run create a pod in a namespace labelled lameduck.io/inject=enabled (server side: nothing is stored) "
                    + "and check that it comes back injected: the lameduck.io/injected annotation and the sidecar container.")
    static final class Injection implements Callable<Integer> {
        @Option(names = {"-n", "--namespace"}, required = true, paramLabel = "NAMESPACE", converter = KubernetesNames.Label.class,
                description = "Namespace to dry-run the pod in; it must be labelled lameduck.io/inject=enabled. Needs create on pods there.")
        String namespace;

        @Option(names = "--container", paramLabel = "NAME", defaultValue = "lameduck", converter = KubernetesNames.Label.class,
                description = "The sidecar's container name, the chart's sidecar.name (default: ${DEFAULT-VALUE}).")
        String container;

        @Option(names = "--image", paramLabel = "IMAGE", defaultValue = "registry.k8s.io/pause:3.10", converter = Image.class,
                description = "Image of the dry-run pod's app container; never pulled or run, but image policies see it (default: ${DEFAULT-VALUE}).")
        String image;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60", converter = ClientOptions.TimeoutSeconds.class,
                description = "Keep asking this long while the pod comes back uninjected or the API does not answer: the API server "
                        + "reaches a new webhook some seconds after it is registered (default: ${DEFAULT-VALUE}).")
        long timeoutSeconds;

        @Override
        public Integer call() throws Exception {
            // ApiCalls logs a 403 with advice for the agent's Role: this command says it better itself.
            LogSetup.configure(false, "error", true);
            Deadline deadline = Deadline.after(Duration.ofSeconds(timeoutSeconds));
            Pod probe = InjectionProbe.pod(image);
            String lastProblem = "";
            List<String> toCheck = List.of();
            int attempts = 0;
            try (KubernetesClient client = client(); PodDryRun dryRun = new PodDryRun(client)) {
                while (true) {
                    attempts++;
                    Answer answer = dryRun.create(namespace, probe, deadline.cap(DRY_RUN_LIMIT));
                    if (answer instanceof Answer.Refused refused) {
                        throw refused(refused);
                    }
                    if (answer instanceof Answer.Admitted admitted) {
                        Verdict verdict = InjectionProbe.judge(admitted.pod(), container);
                        if (verdict instanceof Verdict.Injected injected) {
                            System.out.println("injection works: a pod dry-run created in namespace " + namespace + " came back with the "
                                    + container + " sidecar (" + (injected.nativeSidecar() ? "native" : "classic") + ") and "
                                    + "lameduck.io/injected: " + injected.annotation());
                            return 0;
                        }
                        Verdict.NotInjected not = (Verdict.NotInjected) verdict;
                        lastProblem = "a pod dry-run created in namespace " + namespace + " is not injected: " + not.what();
                        if (not.definite()) {
                            throw failed(lastProblem, List.of("the injector's log: it logs every pod it leaves unchanged, and why"));
                        }
                        toCheck = InjectionProbe.whatToCheck(namespace);
                    } else {
                        lastProblem = "a pod dry-run in namespace " + namespace + " got no answer from the API: "
                                + ((Answer.NoAnswer) answer).message();
                        toCheck = List.of(NO_ANSWER);
                    }
                    if (!timeForAnother(deadline)) {
                        throw failed(lastProblem + " (" + tries(attempts, timeoutSeconds) + ")", toCheck);
                    }
                    Thread.sleep(RETRY_PAUSE.toMillis());
                }
            }
        }

        private CheckFailedException refused(Answer.Refused refused) {
            String problem = "the API server refused to dry-run create a pod in namespace " + namespace
                    + (refused.code() > 0 ? " (HTTP " + refused.code() + ")" : "") + ": " + refused.message();
            if (refused.code() == 403 && refused.message().contains("cannot create resource")) {
                return failed(problem, List.of("RBAC: the account this runs as needs create on pods in namespace " + namespace
                        + " (the chart's test Role grants exactly that)"));
            }
            if (refused.code() == 404) {
                return failed(problem, List.of("that namespace " + namespace + " exists (the chart's test creates it as a hook)"));
            }
            return failed(problem, List.of("the API server's message above: an admission policy (Pod Security, an image policy, "
                    + "another webhook) may refuse the pod; --image picks its app container's image"));
        }
    }

    @Command(name = "rbac", mixinStandardHelpOptions = true,
            description = "Check that this pod's service account may do what the agent needs with this configuration: the agent's own "
                    + "start-up RBAC check (SelfSubjectRulesReview), run as this pod (POD_NAME, POD_NAMESPACE).")
    static final class Rbac implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "${env:LAMEDUCK_CONFIG}",
                description = "The agent's YAML configuration file (env LAMEDUCK_CONFIG): what it needs depends on the withdraw "
                        + "strategy and kube.events. Without it: defaults plus LAMEDUCK_* variables.")
        Path config;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60", converter = ClientOptions.TimeoutSeconds.class,
                description = "Keep asking this long while the API does not answer (default: ${DEFAULT-VALUE}).")
        long timeoutSeconds;

        @Override
        public Integer call() throws Exception {
            AgentConfig loaded = ConfigLoader.fromSystemEnvironment().load(Optional.ofNullable(config));
            LogSetup.configure(false, "error", true); // RbacCheck's own log lines would repeat what is printed here
            if (loaded.kube().mode() == KubeMode.DISABLED) {
                System.out.println("kube.mode is disabled: the agent does not use the Kubernetes API, so it needs no permissions");
                return 0;
            }
            PodIdentity.Lookup lookup = PodIdentity.fromEnvironment(System.getenv(), PodIdentity.SERVICE_ACCOUNT_NAMESPACE_FILE);
            if (lookup instanceof PodIdentity.Lookup.Missing missing) {
                throw new CheckFailedException(missing.reason());
            }
            PodIdentity identity = ((PodIdentity.Lookup.Found) lookup).identity();
            Deadline deadline = Deadline.after(Duration.ofSeconds(timeoutSeconds));
            String strategy = loaded.drain().withdraw().strategy().configName();
            RbacReport report;
            int attempts = 0;
            try (KubernetesClient client = client()) {
                do {
                    if (attempts++ > 0) {
                        Thread.sleep(RETRY_PAUSE.toMillis());
                    }
                    report = RbacCheck.run(loaded, client, identity, deadline);
                } while (!report.checked() && timeForAnother(deadline));
            }
            if (!report.checked()) {
                throw failed("cannot check the permissions of pod " + identity + "'s service account: " + report.whyUnchecked() + " ("
                        + tries(attempts, timeoutSeconds) + ")", List.of(
                        NO_ANSWER,
                        "that the account may create SelfSubjectRulesReviews and SelfSubjectAccessReviews (the built-in ClusterRole "
                                + "system:basic-user gives them to every authenticated user)"));
            }
            if (!report.missing().isEmpty()) {
                throw failed("the service account of pod " + identity + " lacks " + report.missing().size() + " of the permissions the agent "
                        + "needs in namespace " + identity.namespace() + " with withdraw strategy " + strategy + ": "
                        + String.join(", ", report.missing()), withGrant(report.degraded()));
            }
            System.out.println("RBAC works: the service account of pod " + identity + " may do everything the agent needs in namespace "
                    + identity.namespace() + " with withdraw strategy " + strategy);
            return 0;
        }

        private static List<String> withGrant(List<String> degraded) {
            List<String> lines = new ArrayList<>();
            degraded.forEach(feature -> lines.add("degraded without them: " + feature));
            lines.add("grant them with the chart's Role (rbac.create: true; the rules are helm/lameduck/files/role-rules.yaml), bound to "
                    + "the pod's ServiceAccount (serviceAccount.name)");
            return lines;
        }
    }

    /** The API the environment describes (in a pod: its service account), or a failed check saying there is none. */
    private static KubernetesClient client() throws CheckFailedException {
        Config config = KubeIntegration.clientConfig(System.getenv()).orElseThrow(() -> new CheckFailedException(
                "no Kubernetes API configured: neither KUBERNETES_SERVICE_HOST (set in every pod) nor KUBECONFIG is set"));
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    private static boolean timeForAnother(Deadline deadline) {
        return deadline.remaining().compareTo(RETRY_PAUSE.plus(SHORTEST_ATTEMPT)) >= 0;
    }

    private static String tries(int attempts, long timeoutSeconds) {
        return attempts + (attempts == 1 ? " attempt" : " attempts") + " in " + timeoutSeconds + " s";
    }

    /** The problem, then what to check, one line each: the message Main prints. */
    static CheckFailedException failed(String problem, List<String> toCheck) {
        StringBuilder message = new StringBuilder(problem);
        if (!toCheck.isEmpty()) {
            message.append("\nWhat to check:");
            toCheck.forEach(line -> message.append("\n  - ").append(line));
        }
        return new CheckFailedException(message.toString());
    }

    /** An image reference: not empty, no whitespace (the API server checks the rest). */
    static final class Image implements ITypeConverter<String> {
        @Override
        public String convert(String text) {
            if (text.isEmpty() || text.chars().anyMatch(Character::isWhitespace)) {
                throw new TypeConversionException("\"" + text + "\": expected an image reference such as registry.k8s.io/pause:3.10");
            }
            return text;
        }
    }
}
