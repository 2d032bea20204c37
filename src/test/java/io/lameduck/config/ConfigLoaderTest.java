package io.lameduck.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.config.AgentConfig.Strategy;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.time.Durations;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
    private static final ConfigLoader NO_ENV = new ConfigLoader(Map.of());

    @Test
    void theExampleFromTheIssueLoadsWithEveryValue() throws Exception {
        AgentConfig config = NO_ENV.parse("""
                server: {host: 0.0.0.0, port: 7979}
                security: {nodeIp: "", tokenFile: ""}
                drain:
                  budget: 30s
                  safetyMargin: 2s
                  propagationDelay: 2s
                  withdraw: {strategy: probe}
                  hooks:
                    - {name: app-drain, type: http, at: trigger, priority: 10, timeout: 5s, method: POST, url: "http://127.0.0.1:8080/drain"}
                    - {name: connections, type: wait-idle, priority: 20, timeout: 25s, ports: [8080], quietPeriod: 1s}
                    - {name: flush, type: exec, priority: 30, timeout: 3s, command: ["/app/bin/flush", "--fast"]}
                    - {name: settle, type: sleep, priority: 40, timeout: 2s, duration: 1s}
                """);
        assertThat(config.server().port()).isEqualTo(7979);
        assertThat(config.drain().budget()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.drain().withdraw().strategy()).isEqualTo(Strategy.PROBE);
        assertThat(config.drain().hooks()).hasSize(4);
        HttpHook http = (HttpHook) config.drain().hooks().get(0);
        assertThat(http.url().toString()).isEqualTo("http://127.0.0.1:8080/drain");
        assertThat(http.method()).isEqualTo("POST");
        assertThat(http.common().timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(http.common().at()).isEqualTo(AgentConfig.HookAt.TRIGGER);
        assertThat(config.drain().hooks().get(1).common().at()).as("the default").isEqualTo(AgentConfig.HookAt.QUIET);
        WaitIdleHook idle = (WaitIdleHook) config.drain().hooks().get(1);
        assertThat(idle.ports()).containsExactly(8080);
        assertThat(idle.quietPeriod()).isEqualTo(Duration.ofSeconds(1));
        assertThat(idle.pollInterval()).isEqualTo(Duration.ofMillis(200));
        assertThat(((ExecHook) config.drain().hooks().get(2)).command()).containsExactly("/app/bin/flush", "--fast");
        assertThat(((SleepHook) config.drain().hooks().get(3)).duration()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.security().token()).isEmpty();
    }

    @Test
    void theQuietPropagationModeAndItsEnvironmentOverrides() throws Exception {
        AgentConfig config = new ConfigLoader(Map.of("LAMEDUCK_DRAIN_PROPAGATION_MAXIMUM", "20s", "LAMEDUCK_DRAIN_PROPAGATION_KEEP_ALIVE_WAIT", "8s",
                "LAMEDUCK_DRAIN_PROPAGATION_WAIT_FOR_INGRESSES", "false"))
                .parse("drain: {propagation: {mode: quiet, ports: [8080, 9090], quietPeriod: 500ms, minimum: 1s, ignorePeers: [10.244.0.1/32]}}");
        assertThat(config.drain().propagation()).isEqualTo(new AgentConfig.PropagationSettings(AgentConfig.PropagationMode.QUIET,
                List.of(8080, 9090), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(20), Duration.ofSeconds(8), false,
                Duration.ofMillis(100),
                List.of(Cidr.parse("10.244.0.1/32").orElseThrow())));
    }

    @Test
    void defaultsWithoutAnyFile() throws Exception {
        AgentConfig config = NO_ENV.load(Optional.empty());
        assertThat(config.server()).isEqualTo(new AgentConfig.Server("0.0.0.0", 7979));
        assertThat(config.drain().budget()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.drain().safetyMargin()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.drain().propagationDelay()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.drain().withdraw()).isEqualTo(new AgentConfig.Withdraw(Strategy.PROBE, Duration.ofSeconds(10),
                "lameduck.io/serving", "lameduck.io/serving", AgentConfig.LastServingEndpoint.WITHDRAW));
        assertThat(config.drain().propagation()).isEqualTo(new AgentConfig.PropagationSettings(AgentConfig.PropagationMode.FIXED, List.of(),
                Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(8), true, Duration.ofMillis(100),
                List.of()));
        assertThat(config.drain().hooks()).isEmpty();
        assertThat(config.metrics().jvm()).isFalse();
        assertThat(config.logging().format()).isEqualTo(AgentConfig.LogFormat.JSON);
    }

    /** One environment variable over a file that says otherwise (or nothing): the one field it sets. */
    static Stream<Arguments> environmentOverrides() {
        return Stream.of(
                override("LAMEDUCK_SERVER_PORT", "8081", "server: {port: 7000}", c -> c.server().port(), 8081),
                override("LAMEDUCK_DRAIN_SAFETY_MARGIN", "500ms", "drain: {safetyMargin: 3s}", c -> c.drain().safetyMargin(), Duration.ofMillis(500)),
                override("LAMEDUCK_DRAIN_WITHDRAW_STRATEGY", "label", "drain: {withdraw: {strategy: readiness-gate}}", c -> c.drain().withdraw().strategy(), Strategy.LABEL),
                override("LAMEDUCK_METRICS_JVM", "true", "metrics: {jvm: false}", c -> c.metrics().jvm(), true),
                override("HOST_IP", "10.1.2.3", "security: {nodeIp: \"\"}", c -> c.security().nodeIp(), "10.1.2.3"),
                override("LAMEDUCK_TOKEN", " s3cret\n", "security: {tokenFile: \"\"}", c -> c.security().token(), Optional.of("s3cret")));
    }

    private static Arguments override(String variable, String value, String file, Function<AgentConfig, Object> field, Object expected) {
        return Arguments.of(variable, value.strip(), file, new ConfigLoader(Map.of(variable, value)), field, expected);
    }

    @ParameterizedTest(name = "{0}={1} over \"{2}\"")
    @MethodSource("environmentOverrides")
    void environmentOverridesTheFile(String variable, String value, String file, ConfigLoader loader, Function<AgentConfig, Object> field,
            Object expected) throws Exception {
        assertThat(field.apply(loader.parse(file))).isEqualTo(expected);
    }

    @Test
    void aTokenFromTheEnvironmentIsNeverPrinted() throws Exception {
        AgentConfig config = new ConfigLoader(Map.of("LAMEDUCK_TOKEN", " s3cret\n")).parse("");
        assertThat(config.security().token()).contains("s3cret");
        assertThat(config.security().toString()).doesNotContain("s3cret");
    }

    @ParameterizedTest(name = "{0} is read from {1}")
    @CsvSource(textBlock = """
            drain.withdraw.conditionType, LAMEDUCK_DRAIN_WITHDRAW_CONDITION_TYPE
            server.port,                  LAMEDUCK_SERVER_PORT
            drain.safetyMargin,           LAMEDUCK_DRAIN_SAFETY_MARGIN
            """)
    void environmentNamesFollowTheConfigPath(String path, String variable) {
        assertThat(ConfigLoader.envName(path)).isEqualTo(variable);
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            LAMEDUCK_DRAIN_BUDGET            | thirty | drain.budget: got "thirty", expected a duration such as 500ms, 10s, 2m or 1h30m
            LAMEDUCK_METRICS_JVM             | maybe  | metrics.jvm: got "maybe", expected true or false
            LAMEDUCK_DRAIN_WITHDRAW_STRATEGY | dns    | drain.withdraw.strategy: got "dns", expected one of probe, label, readiness-gate
            """)
    void badEnvironmentValueIsReportedAtItsPath(String variable, String value, String expectedMessage) {
        ConfigLoader loader = new ConfigLoader(Map.of(variable, value));
        assertThatThrownBy(() -> loader.parse(""))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(expectedMessage);
    }

    @Test
    void tokenIsReadFromTheTokenFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, "from-file\n");
        AgentConfig config = NO_ENV.parse("security: {tokenFile: " + file + "}");
        assertThat(config.security().token()).contains("from-file");
        assertThat(config.security().tokenFile()).contains(file);
    }

    /** What stands at a file's path. */
    enum FileKind {
        ABSENT("nothing", path -> { }),
        BLANK("a blank file", path -> Files.writeString(path, "  \n")),
        DIRECTORY("a directory", Files::createDirectory),
        FIFO("a FIFO", path -> assertThat(new ProcessBuilder("mkfifo", path.toString()).start().waitFor()).isZero()),
        // Valid YAML, just far too much of it for a 32 MiB heap.
        HUGE("a file over 256 KiB", path -> Files.writeString(path, "drain:\n  hooks:\n" + "    - {name: a, type: sleep, duration: 1s}\n".repeat(200_000)));

        private final String label;
        private final FileMaker maker;

        FileKind(String label, FileMaker maker) {
            this.label = label;
            this.maker = maker;
        }

        @Override
        public String toString() {
            return label;
        }

        Path createAt(Path path) throws Exception {
            maker.make(path);
            return path;
        }

        @FunctionalInterface
        interface FileMaker {
            void make(Path path) throws Exception;
        }
    }

    /** How the file is named: on the command line ({@code --config}) or in the configuration ({@code security.tokenFile}). */
    enum FileUse {
        CONFIG("--config") {
            @Override
            void read(Path file) throws Exception {
                NO_ENV.load(Optional.of(file));
            }
        },
        TOKEN("security.tokenFile") {
            @Override
            void read(Path file) throws Exception {
                NO_ENV.parse("security: {tokenFile: " + file + "}");
            }
        };

        private final String label;

        FileUse(String label) {
            this.label = label;
        }

        abstract void read(Path file) throws Exception;

        @Override
        public String toString() {
            return label;
        }
    }

    /** Each expected message with {@code {path}} standing for the file's path. */
    static Stream<Arguments> unreadableFiles() {
        return Stream.of(
                Arguments.of(FileUse.CONFIG, FileKind.ABSENT, List.of("cannot read config file {path}", "check the --config path")),
                Arguments.of(FileUse.CONFIG, FileKind.FIFO, List.of("config file {path} is not a regular file (a directory, FIFO or device)")),
                Arguments.of(FileUse.CONFIG, FileKind.DIRECTORY, List.of("config file {path} is not a regular file")),
                Arguments.of(FileUse.CONFIG, FileKind.HUGE, List.of("config file {path} is larger than 256 KiB")),
                Arguments.of(FileUse.TOKEN, FileKind.ABSENT,
                        List.of("security.tokenFile: cannot read token file {path}", "mount the secret there or remove the setting")),
                Arguments.of(FileUse.TOKEN, FileKind.BLANK, List.of("security.tokenFile: {path} is empty")),
                Arguments.of(FileUse.TOKEN, FileKind.FIFO, List.of("security.tokenFile: token file {path} is not a regular file")));
    }

    /** Not small regular files are refused without reading them: a FIFO would block the read forever. */
    @ParameterizedTest(name = "{0} names {1}")
    @MethodSource("unreadableFiles")
    void filesThatCannotBeReadAreRefusedWithThePathAndWhatToDo(FileUse use, FileKind kind, List<String> expectedMessages, @TempDir Path dir)
            throws Exception {
        Path file = kind.createAt(dir.resolve("file"));
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            var thrown = assertThatThrownBy(() -> use.read(file)).isInstanceOf(ConfigException.class);
            for (String expected : expectedMessages) {
                thrown.hasMessageContaining(expected.replace("{path}", file.toString()));
            }
        });
    }

    static Stream<Arguments> yamlThatWouldLoseAValue() {
        return Stream.of(
                Arguments.of(Named.of("a key twice at the top level", "drain: {budget: 10s}\ndrain: {budget: 20s}\n"),
                        "<text>: not valid YAML at line 2", "Duplicate field 'drain'"),
                Arguments.of(Named.of("a key twice in one mapping", "drain: {budget: 10s, budget: 1s}\n"),
                        "<text>: not valid YAML at line 1", "Duplicate field 'budget'"),
                Arguments.of(Named.of("a second document", "drain: {budget: 10s}\n---\nserver: {port: 1}\n"),
                        "<text>: holds more than one YAML document", "put the whole configuration in one document"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("yamlThatWouldLoseAValue")
    void duplicateKeysAndSecondDocumentsAreErrorsNotSilentlyDropped(String yaml, String where, String what) {
        assertThatThrownBy(() -> NO_ENV.parse(yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(where)
                .hasMessageContaining(what);
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> NO_ENV.parse("server: {port: 99999, colour: red}\ndrain: {budget: 10}\n"))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                        "<text>: server.colour: unknown key; allowed keys here: host, port",
                        "<text>: server.port: got 99999, expected a whole number from 0 to 65535",
                        "<text>: drain.budget: got 10, expected a duration such as 500ms, 10s, 2m or 1h30m"));
    }

    static Stream<Arguments> invalidConfigurations() {
        return Stream.of(
                Arguments.of("- just a list", "the top level must be a mapping"),
                Arguments.of("server: [1, 2]", "server: got a list, expected a mapping of keys to values"),
                Arguments.of("server: {port: [1]}", "server.port: got a list, expected a whole number from 0 to 65535"),
                Arguments.of("drain: {budget: 0s}", "drain.budget: must be more than 0s"),
                Arguments.of("drain: {budget: 5s, safetyMargin: 5s}", "drain.safetyMargin: 5s leaves no time in drain.budget 5s"),
                Arguments.of("drain: {propagationDelay: -1s}", "drain.propagationDelay: got \"-1s\", expected a duration"),
                Arguments.of("drain: {propagation: {mode: quiet}}", "drain.propagation.ports: required with mode quiet"),
                Arguments.of("drain: {propagation: {mode: silent}}", "drain.propagation.mode: got \"silent\", expected one of fixed, quiet"),
                Arguments.of("drain: {propagation: {minimum: 20s, maximum: 10s}}", "drain.propagation.minimum: 20s is more than maximum 10s"),
                Arguments.of("drain: {propagation: {keepAliveWait: 20s}}", "drain.propagation.keepAliveWait: 20s is more than maximum 15s"),
                Arguments.of("drain: {propagation: {keepAliveWait: soon}}", "drain.propagation.keepAliveWait"),
                Arguments.of("drain: {propagation: {waitForIngresses: maybe}}",
                        "drain.propagation.waitForIngresses: got \"maybe\", expected true or false"),
                Arguments.of("drain: {propagation: {quietPeriod: 0s}}", "drain.propagation.quietPeriod: must be more than 0s"),
                Arguments.of("drain: {propagation: {ports: [70000]}}", "drain.propagation.ports[0]: got 70000, expected a TCP port"),
                Arguments.of("drain: {propagation: {delay: 1s}}", "drain.propagation.delay: unknown key"),
                Arguments.of("drain: {withdraw: {strategy: dns}}", "drain.withdraw.strategy: got \"dns\", expected one of probe, label, readiness-gate"),
                Arguments.of("drain: {withdraw: {timeout: soon}}", "drain.withdraw.timeout: got \"soon\", expected a duration"),
                Arguments.of("drain: {hooks: {a: 1}}", "drain.hooks: got a mapping, expected a list"),
                Arguments.of("drain: {hooks: [{name: a}]}", "drain.hooks[0].type: required; one of http, exec, sleep, wait-idle"),
                Arguments.of("drain: {hooks: [{name: a, type: grpc}]}", "drain.hooks[0].type: got \"grpc\", expected one of http, exec, sleep, wait-idle"),
                Arguments.of("drain: {hooks: [{type: sleep, duration: 1s}]}", "drain.hooks[0].name: required, but missing or empty"),
                Arguments.of("drain: {hooks: [{name: 'bad name!', type: sleep, duration: 1s}]}", "drain.hooks[0].name: got \"bad name!\", expected letters, digits"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s}, {name: a, type: sleep, duration: 2s}]}",
                        "drain.hooks[1].name: duplicate hook name \"a\"; hook names must be unique"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s, timeout: 1x}]}", "drain.hooks[0].timeout: got \"1x\", expected a duration"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s, timeout: 0s}]}", "drain.hooks[0].timeout: must be more than 0s"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep}]}", "drain.hooks[0].duration: required"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s, url: 'http://x'}]}",
                        "drain.hooks[0].url: unknown key; allowed keys here: at, duration, name, onFailure, priority, timeout, type"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s, onFailure: panic}]}", "drain.hooks[0].onFailure: got \"panic\", expected one of continue, abort"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s, at: start}]}", "drain.hooks[0].at: got \"start\", expected one of trigger, quiet"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s, priority: high}]}", "drain.hooks[0].priority: got \"high\", expected a whole number"),
                Arguments.of("drain: {hooks: [{name: a, type: http}]}", "drain.hooks[0].url: required, but missing or empty"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'ftp://x/y'}]}", "drain.hooks[0].url: got \"ftp://x/y\", expected an absolute http:// or https:// URL"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'not a url'}]}", "drain.hooks[0].url: got \"not a url\", expected an absolute http://"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'http://x/', method: BREW}]}", "drain.hooks[0].method: got \"BREW\", expected one of DELETE, GET, HEAD, PATCH, POST, PUT"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'http://x/', expectStatus: 42}]}", "drain.hooks[0].expectStatus: got 42, expected an HTTP status from 100 to 599"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'http://x/', headers: [a]}]}", "drain.hooks[0].headers: got a list, expected a mapping of names to strings"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'http://x/', headers: {Host: y}}]}", "drain.hooks[0].headers.Host: this header is set by the HTTP client"),
                Arguments.of("drain: {hooks: [{name: a, type: exec}]}", "drain.hooks[0].command: required; the program and its arguments"),
                Arguments.of("drain: {hooks: [{name: a, type: exec, command: []}]}", "drain.hooks[0].command: must name a program as its first item"),
                Arguments.of("drain: {hooks: [{name: a, type: exec, command: 'ls -l'}]}", "drain.hooks[0].command: got \"ls -l\", expected a list"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle}]}", "drain.hooks[0].ports: required; the application's listening ports"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle, ports: [0]}]}", "drain.hooks[0].ports[0]: got 0, expected a TCP port from 1 to 65535"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle, ports: [http]}]}", "drain.hooks[0].ports[0]: got \"http\", expected a TCP port"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle, ports: [80], pollInterval: 0s}]}", "drain.hooks[0].pollInterval: must be more than 0s"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle, ports: [80], ignorePeers: [10.0.0.0/33]}]}",
                        "drain.hooks[0].ignorePeers[0]: got \"10.0.0.0/33\", expected an IP network such as 10.0.0.0/8"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle, ports: [80], ignorePeers: [example.com]}]}",
                        "drain.hooks[0].ignorePeers[0]: got \"example.com\", expected an IP network"),
                Arguments.of("security: {nodeIp: node-1}", "security.nodeIp: got \"node-1\", expected an IP address"),
                Arguments.of("metrics: {jvm: maybe}", "metrics.jvm: got \"maybe\", expected true or false"),
                Arguments.of("logging: {format: xml}", "logging.format: got \"xml\", expected one of json, text"),
                Arguments.of("logging: {level: loud}", "logging.level: got \"loud\", expected one of debug, error, info, trace, warn"),
                Arguments.of("kube: {mode: sometimes}", "kube.mode: got \"sometimes\", expected one of auto, enabled, disabled"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s]}", "not valid YAML at line 1"),
                // Durations that parse but would overflow later (nanoseconds, int milliseconds) are bounded here.
                Arguments.of("drain: {budget: 2562048h}", "drain.budget: got \"2562048h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {budget: 99999999999999999999h}", "drain.budget: got \"99999999999999999999h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {safetyMargin: 25h}", "drain.safetyMargin: got \"25h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {propagationDelay: 1000000h}", "drain.propagationDelay: got \"1000000h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {withdraw: {timeout: 24h1ms}}", "drain.withdraw.timeout: got \"24h1ms\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 1s, timeout: 600000h}]}",
                        "drain.hooks[0].timeout: got \"600000h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 106752d}]}", "drain.hooks[0].duration: got \"106752d\", expected a duration"),
                Arguments.of("drain: {hooks: [{name: a, type: sleep, duration: 2562048h}]}", "drain.hooks[0].duration: got \"2562048h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'http://x/', connectTimeout: 600h}]}",
                        "drain.hooks[0].connectTimeout: got \"600h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {hooks: [{name: a, type: http, url: 'http://x/', readTimeout: 9999999h}]}",
                        "drain.hooks[0].readTimeout: got \"9999999h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle, ports: [80], quietPeriod: 3000000h}]}",
                        "drain.hooks[0].quietPeriod: got \"3000000h\", expected a duration from 0s to 24h"),
                Arguments.of("drain: {hooks: [{name: a, type: wait-idle, ports: [80], pollInterval: 3000000h}]}",
                        "drain.hooks[0].pollInterval: got \"3000000h\", expected a duration from 0s to 24h"),
                Arguments.of("colour: red", "colour: unknown key; allowed keys here: drain, kube, logging, metrics, security, server"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidConfigurations")
    void invalidConfigurationNamesThePathAndWhatIsAllowed(String yaml, String expectedMessage) {
        assertThatThrownBy(() -> NO_ENV.parse(yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(expectedMessage);
    }

    @ParameterizedTest(name = "\"{0}\" is {1}")
    @CsvSource(textBlock = """
            500ms, PT0.5S
            10s,   PT10S
            2m,    PT2M
            1h30m, PT1H30M
            1.5s,  PT1.5S
            0,     PT0S
            """)
    void durationsParseInTheGoStyle(String text, Duration expected) {
        assertThat(Durations.parse(text)).contains(expected);
    }

    @ParameterizedTest(name = "\"{0}\" is not a duration")
    @ValueSource(strings = {"", "10", "s", "-1s", "1 s", "1d", "1s1", "s1"})
    void durationsThatAreNotGoStyleDoNotParse(String text) {
        assertThat(Durations.parse(text)).isEmpty();
    }

    @ParameterizedTest(name = "{0} prints as {1}")
    @CsvSource(textBlock = """
            PT1.5S, 1500ms
            PT2M,   2m
            """)
    void durationsPrintInTheGoStyle(Duration duration, String expected) {
        assertThat(Durations.format(duration)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} contains {1}: {2}")
    @CsvSource(textBlock = """
            10.1.0.0/16, 10.1.200.3,    true
            10.1.0.0/16, 10.2.0.1,      false
            10.1.0.0/16, ::1,           false
            10.1.2.3,    10.1.2.3,      true
            fd00::/8,    fd12::1,       true
            10.0.0.0/12, 10.15.255.255, true
            10.0.0.0/12, 10.16.0.0,     false
            """)
    void cidrsMatchTheirNetworksOnly(String network, String address, boolean contained) throws Exception {
        assertThat(Cidr.parse(network).orElseThrow().contains(InetAddress.getByName(address))).isEqualTo(contained);
    }

    /** The hooks' timeouts against the usable budget (budget - safety margin 2s); the expected warning, or none. */
    static Stream<Arguments> budgetChecks() {
        return Stream.of(
                Arguments.of(Named.of("one 5s hook in a usable 28s", """
                        drain:
                          budget: 30s
                          hooks:
                            - {name: a, type: sleep, duration: 1s, timeout: 5s}
                        """), null),
                Arguments.of(Named.of("5s and 4s side by side, then 5s: 12s in a usable 8s", """
                        drain:
                          budget: 10s
                          hooks:
                            - {name: a, type: sleep, duration: 1s, timeout: 5s, priority: 1}
                            - {name: b, type: sleep, duration: 1s, timeout: 4s, priority: 1}
                            - {name: c, type: sleep, duration: 1s, timeout: 5s, priority: 2}
                        """), "add up to 12s, more than the usable budget 8s"),
                // probe withdrawal (0s) + fixed propagation 2s beside a 5s hook at the trigger: 5s, then 2s of hooks at quiet.
                Arguments.of(Named.of("5s at the trigger beside 2s of propagation, then 2s: 7s in a usable 7s", """
                        drain:
                          budget: 9s
                          hooks:
                            - {name: leave, type: sleep, duration: 1s, timeout: 5s, at: trigger}
                            - {name: after, type: sleep, duration: 1s, timeout: 2s}
                        """), null),
                Arguments.of(Named.of("6s at the trigger beside 2s of propagation, then 2s: 8s in a usable 7s", """
                        drain:
                          budget: 9s
                          hooks:
                            - {name: leave, type: sleep, duration: 1s, timeout: 6s, at: trigger}
                            - {name: after, type: sleep, duration: 1s, timeout: 2s}
                        """), "add up to 8s, more than the usable budget 7s"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("budgetChecks")
    void budgetCheckWarnsWhenTheHooksTimeoutsCannotFit(String yaml, String expectedWarning) throws Exception {
        List<String> warnings = BudgetCheck.warnings(NO_ENV.parse(yaml).drain());
        if (expectedWarning == null) {
            assertThat(warnings).isEmpty();
        } else {
            assertThat(warnings).singleElement().asString().contains(expectedWarning);
        }
    }
}
