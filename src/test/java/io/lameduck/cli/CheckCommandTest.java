package io.lameduck.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lameduck.logging.LogSetup;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * {@code lameduck check}: its arguments, each wrong one refused with what is allowed (Main turns that into exit 3 with
 * the usage), and the messages of a failed check. Against a real API server: CheckCommandOnApiServerTest.
 */
class CheckCommandTest {
    @AfterEach
    void restoreTheDefaultLogOutput() {
        LogSetup.configure(false, "info", false); // a check quiets the process's logging to stderr, errors only
    }

    @Test
    void injectionNeedsANamespaceAndTakesTheChartsArguments() {
        assertThatThrownBy(() -> parse("check", "injection")).isInstanceOf(ParameterException.class)
                .hasMessageContaining("Missing required option: '--namespace=NAMESPACE'");

        CheckCommand.Injection defaults = (CheckCommand.Injection) parse("check", "injection", "-n", "shop").commandSpec().userObject();
        assertThat(defaults.namespace).isEqualTo("shop");
        assertThat(defaults.container).isEqualTo("lameduck");
        assertThat(defaults.image).isEqualTo("registry.k8s.io/pause:3.10");
        assertThat(defaults.timeoutSeconds).isEqualTo(60);

        CheckCommand.Injection chart = (CheckCommand.Injection) parse("check", "injection", "--namespace", "lameduck-test-injection",
                "--container", "agent", "--image", "registry.example/lameduck@sha256:0123", "--timeout", "5").commandSpec().userObject();
        assertThat(List.of(chart.namespace, chart.container, chart.image, Long.toString(chart.timeoutSeconds)))
                .containsExactly("lameduck-test-injection", "agent", "registry.example/lameduck@sha256:0123", "5");
    }

    @Test
    void wrongArgumentsAreRefusedWithWhatIsAllowed() {
        String name = "expected a Kubernetes name of 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit";
        String seconds = "expected a whole number of seconds from 1 to 86400";
        String[][] wrong = {
                {"--namespace", "Shop", "'--namespace': \"Shop\": " + name},
                {"--namespace", "shop-", "\"shop-\": " + name},
                {"--namespace", "a".repeat(64), name},
                {"--container", "side_car", "'--container': \"side_car\": " + name},
                {"--image", "", "'--image': \"\": expected an image reference such as registry.k8s.io/pause:3.10"},
                {"--image", "two words", "\"two words\": expected an image reference"},
                {"--timeout", "0", "'--timeout': \"0\": " + seconds},
                {"--timeout", "soon", "\"soon\": " + seconds},
                {"--timeout", "86401", seconds}};
        for (String[] args : wrong) {
            List<String> command = new java.util.ArrayList<>(List.of("check", "injection"));
            if (!args[0].equals("--namespace")) {
                command.addAll(List.of("--namespace", "shop"));
            }
            command.addAll(List.of(args[0], args[1]));
            assertThatThrownBy(() -> parse(command.toArray(String[]::new))).as(String.join(" ", command))
                    .isInstanceOf(ParameterException.class).hasMessageStartingWith("Invalid value for option '" + args[0])
                    .hasMessageContaining(args[2]);
        }
        assertThatThrownBy(() -> parse("check", "rbac", "--timeout", "-1")).isInstanceOf(ParameterException.class)
                .hasMessageContaining(seconds);
        assertThatThrownBy(() -> parse("check", "nothing")).isInstanceOf(ParameterException.class)
                .hasMessageContaining("Unmatched argument at index 1: 'nothing'");
    }

    @Test
    void checkAloneAsksForItsSubcommandAndHelpListsBoth() {
        CommandLine lameduck = new CommandLine(new LameduckCommand());
        StringWriter err = new StringWriter();
        lameduck.setErr(new PrintWriter(err));
        assertThat(lameduck.execute("check")).as("a usage error, as Main maps it: exit 3 there").isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(err.toString()).contains("Missing required subcommand").contains("injection").contains("rbac");

        StringWriter out = new StringWriter();
        lameduck.setOut(new PrintWriter(out));
        assertThat(lameduck.execute("check", "injection", "--help")).isZero();
        assertThat(out.toString()).contains("--namespace=NAMESPACE").contains("lameduck.io/inject=enabled").contains("--timeout=SECONDS");
    }

    @Test
    void aFailedCheckSaysTheProblemFirstThenWhatToCheck() {
        CheckFailedException failed = CheckCommand.failed("a pod dry-run created in namespace shop is not injected",
                List.of("the injector's pods", "the webhook"));
        assertThat(failed.getMessage()).isEqualTo("a pod dry-run created in namespace shop is not injected\n"
                + "What to check:\n  - the injector's pods\n  - the webhook");
        assertThat(CheckCommand.failed("no answer", List.of()).getMessage()).isEqualTo("no answer");
    }

    @Test
    void withoutAnyKubernetesApiBothChecksFailSayingSo() {
        assumeTrue(System.getenv("KUBECONFIG") == null && System.getenv("KUBERNETES_SERVICE_HOST") == null,
                "this JVM has a Kubernetes API configured");
        CheckCommand.Injection injection = (CheckCommand.Injection) parse("check", "injection", "-n", "shop").commandSpec().userObject();
        assertThatThrownBy(injection::call).isInstanceOf(CheckFailedException.class)
                .hasMessage("no Kubernetes API configured: neither KUBERNETES_SERVICE_HOST (set in every pod) nor KUBECONFIG is set");
    }

    private static CommandLine.ParseResult parse(String... args) {
        CommandLine.ParseResult result = new CommandLine(new LameduckCommand()).parseArgs(args);
        while (result.hasSubcommand()) {
            result = result.subcommand();
        }
        return result;
    }
}
