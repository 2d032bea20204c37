package io.lameduck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.config.AgentConfig.LogFormat;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The fast path reads {@code serve} exactly as picocli does, and leaves everything else to picocli. */
class ServeArgumentsTest {
    static Stream<List<String>> accepted() {
        return Stream.of(
                List.of("serve"),
                List.of("serve", "--config", "/etc/lameduck/lameduck.yaml"),
                List.of("serve", "--config=/etc/lameduck/lameduck.yaml"),
                List.of("serve", "-c", "agent/lameduck.yaml"),
                List.of("serve", "-cagent/lameduck.yaml"),
                List.of("serve", "-c=agent/lameduck.yaml"),
                List.of("serve", "--log-format", "text"),
                List.of("serve", "--log-format=JSON"),
                List.of("serve", "--log-format", "Text", "--config", "a b.yaml"),
                List.of("serve", "-c", "x.yaml", "--log-format=json"));
    }

    static Stream<List<String>> leftToPicocli() {
        return Stream.of(
                List.of(),
                List.of("--help"),
                List.of("-V"),
                List.of("validate", "agent/lameduck.yaml"),
                List.of("serve", "--help"),
                List.of("serve", "-h"),
                List.of("serve", "--version"),
                List.of("serve", "--config"),
                List.of("serve", "--config="),
                List.of("serve", "--config", "--log-format", "json"),
                List.of("serve", "--config", "a.yaml", "--config", "b.yaml"),
                List.of("serve", "-c", "a.yaml", "--config=b.yaml"),
                List.of("serve", "--log-format", "xml"),
                List.of("serve", "--log-format", "json", "--log-format", "text"),
                List.of("serve", "--conf", "a.yaml"),
                List.of("serve", "extra"),
                List.of("serve", "--", "a.yaml"),
                List.of("serve", "--config=a=b.yaml"),
                List.of("serve", "-cx=y"),
                List.of("serve", "--config", "nul\0.yaml"));
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void readsWhatPicocliReads(List<String> args) {
        String[] argv = args.toArray(String[]::new);
        ServeCommand fast = ServeArguments.parse(argv, System.getenv()).orElseThrow();
        ServeCommand picocli = picocli(argv);
        assertThat(fast.config).isEqualTo(picocli.config);
        assertThat(fast.logFormat).isEqualTo(picocli.logFormat);
    }

    @ParameterizedTest
    @MethodSource("leftToPicocli")
    void leavesTheRestToPicocli(List<String> args) {
        assertThat(ServeArguments.fastPath(args.toArray(String[]::new), Map.of())).isEmpty();
    }

    @Test
    void theConfigDefaultsToTheEnvironmentAsInPicocli() {
        ServeCommand fromEnv = ServeArguments.parse(new String[] {"serve"}, Map.of("LAMEDUCK_CONFIG", "/cfg/l.yaml")).orElseThrow();
        assertThat(fromEnv.config).isEqualTo(Path.of("/cfg/l.yaml"));
        ServeCommand given = ServeArguments.parse(new String[] {"serve", "-c", "x.yaml"}, Map.of("LAMEDUCK_CONFIG", "/cfg/l.yaml"))
                .orElseThrow();
        assertThat(given.config).isEqualTo(Path.of("x.yaml"));
        assertThat(ServeArguments.parse(new String[] {"serve"}, Map.of()).orElseThrow().config).isNull();
        assertThat(ServeArguments.parse(new String[] {"serve", "--log-format", "text"}, Map.of()).orElseThrow().logFormat)
                .isEqualTo(LogFormat.TEXT);
    }

    /** A new option of {@code serve} must be taught to the fast path (or be left to picocli there): this fails first. */
    @Test
    void knowsEveryOptionOfServe() {
        List<String> names = new CommandLine(new ServeCommand()).getCommandSpec().options().stream()
                .map(OptionSpec::names).flatMap(Arrays::stream).sorted().collect(Collectors.toList());
        assertThat(names).containsExactly("--config", "--help", "--log-format", "--version", "-V", "-c", "-h");
    }

    private static ServeCommand picocli(String[] args) {
        CommandLine.ParseResult parsed = new CommandLine(new LameduckCommand()).setCaseInsensitiveEnumValuesAllowed(true)
                .parseArgs(args);
        return (ServeCommand) Optional.ofNullable(parsed.subcommand()).orElseThrow().commandSpec().userObject();
    }
}
