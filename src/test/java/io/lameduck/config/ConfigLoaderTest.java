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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

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
        AgentConfig config = new ConfigLoader(Map.of("LAMEDUCK_DRAIN_PROPAGATION_MAXIMUM", "20s", "LAMEDUCK_DRAIN_PROPAGATION_KEEP_ALIVE_WAIT", "8s"))
                .parse("drain: {propagation: {mode: quiet, ports: [8080, 9090], quietPeriod: 500ms, minimum: 1s, ignorePeers: [10.244.0.1/32]}}");
        assertThat(config.drain().propagation()).isEqualTo(new AgentConfig.PropagationSettings(AgentConfig.PropagationMode.QUIET,
                List.of(8080, 9090), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(20), Duration.ofSeconds(8), Duration.ofMillis(100),
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
                Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(8), Duration.ofMillis(100), List.of()));
        assertThat(config.drain().hooks()).isEmpty();
        assertThat(config.metrics().jvm()).isFalse();
        assertThat(config.logging().format()).isEqualTo(AgentConfig.LogFormat.JSON);
    }

    @Test
    void environmentOverridesTheFileAndHostIpFillsTheNodeIp() throws Exception {
        ConfigLoader loader = new ConfigLoader(Map.of(
                "LAMEDUCK_SERVER_PORT", "8081",
                "LAMEDUCK_DRAIN_SAFETY_MARGIN", "500ms",
                "LAMEDUCK_DRAIN_WITHDRAW_STRATEGY", "label",
                "LAMEDUCK_METRICS_JVM", "true",
                "HOST_IP", "10.1.2.3",
                "LAMEDUCK_TOKEN", " s3cret\n"));
        AgentConfig config = loader.parse("server: {port: 7000}\ndrain: {safetyMargin: 3s}\n");
        assertThat(config.server().port()).isEqualTo(8081);
        assertThat(config.drain().safetyMargin()).isEqualTo(Duration.ofMillis(500));
        assertThat(config.drain().withdraw().strategy()).isEqualTo(Strategy.LABEL);
        assertThat(config.metrics().jvm()).isTrue();
        assertThat(config.security().nodeIp()).isEqualTo("10.1.2.3");
        assertThat(config.security().token()).contains("s3cret");
        assertThat(config.security().toString()).doesNotContain("s3cret");
        assertThat(ConfigLoader.envName("drain.withdraw.conditionType")).isEqualTo("LAMEDUCK_DRAIN_WITHDRAW_CONDITION_TYPE");
    }

    @Test
    void badEnvironmentValueIsReportedAtItsPath() {
        ConfigLoader loader = new ConfigLoader(Map.of("LAMEDUCK_DRAIN_BUDGET", "thirty"));
        assertThatThrownBy(() -> loader.parse(""))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("drain.budget: got \"thirty\", expected a duration such as 500ms, 10s, 2m or 1h30m");
    }

    @Test
    void tokenIsReadFromTheTokenFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, "from-file\n");
        AgentConfig config = NO_ENV.parse("security: {tokenFile: " + file + "}");
        assertThat(config.security().token()).contains("from-file");
        assertThat(config.security().tokenFile()).contains(file);
    }

    @Test
    void missingTokenFileAndEmptyTokenFileAreErrors(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> NO_ENV.parse("security: {tokenFile: " + dir.resolve("absent") + "}"))
                .hasMessageContaining("security.tokenFile: cannot read token file " + dir.resolve("absent"))
                .hasMessageContaining("mount the secret there or remove the setting");
        Path empty = Files.writeString(dir.resolve("empty"), "  \n");
        assertThatThrownBy(() -> NO_ENV.parse("security: {tokenFile: " + empty + "}"))
                .hasMessageContaining("security.tokenFile: " + empty + " is empty");
    }

    @Test
    void missingFileSaysWhichPath(@TempDir Path dir) {
        assertThatThrownBy(() -> NO_ENV.load(Optional.of(dir.resolve("nope.yaml"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot read config file " + dir.resolve("nope.yaml"))
                .hasMessageContaining("check the --config path");
    }

    @Test
    void configFilesThatAreNotSmallRegularFilesAreRefusedWithoutReadingThem(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("fifo.yaml");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThatThrownBy(() -> NO_ENV.load(Optional.of(fifo)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("config file " + fifo + " is not a regular file (a directory, FIFO or device)"));
        assertThatThrownBy(() -> NO_ENV.load(Optional.of(dir)))
                .hasMessageContaining("config file " + dir + " is not a regular file");

        // Valid YAML, just far too much of it for a 32 MiB heap.
        Path huge = Files.writeString(dir.resolve("huge.yaml"), "drain:\n  hooks:\n" + "    - {name: a, type: sleep, duration: 1s}\n".repeat(200_000));
        assertThatThrownBy(() -> NO_ENV.load(Optional.of(huge)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("config file " + huge + " is larger than 256 KiB");

        Path token = dir.resolve("token");
        assertThat(new ProcessBuilder("mkfifo", token.toString()).start().waitFor()).isZero();
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThatThrownBy(() -> NO_ENV.parse("security: {tokenFile: " + token + "}"))
                .hasMessageContaining("security.tokenFile: token file " + token + " is not a regular file"));
    }

    @Test
    void duplicateKeysAndSecondDocumentsAreErrorsNotSilentlyDropped() {
        assertThatThrownBy(() -> NO_ENV.parse("drain: {budget: 10s}\ndrain: {budget: 20s}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("<text>: not valid YAML at line 2").hasMessageContaining("Duplicate field 'drain'");
        assertThatThrownBy(() -> NO_ENV.parse("drain: {budget: 10s, budget: 1s}\n"))
                .hasMessageContaining("Duplicate field 'budget'");
        assertThatThrownBy(() -> NO_ENV.parse("drain: {budget: 10s}\n---\nserver: {port: 1}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("<text>: holds more than one YAML document")
                .hasMessageContaining("put the whole configuration in one document");
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

    @Test
    void durationsParseAndPrintInTheGoStyle() {
        assertThat(Durations.parse("500ms")).contains(Duration.ofMillis(500));
        assertThat(Durations.parse("10s")).contains(Duration.ofSeconds(10));
        assertThat(Durations.parse("2m")).contains(Duration.ofMinutes(2));
        assertThat(Durations.parse("1h30m")).contains(Duration.ofMinutes(90));
        assertThat(Durations.parse("1.5s")).contains(Duration.ofMillis(1500));
        assertThat(Durations.parse("0")).contains(Duration.ZERO);
        for (String bad : List.of("", "10", "s", "-1s", "1 s", "1d", "1s1", "s1")) {
            assertThat(Durations.parse(bad)).as(bad).isEmpty();
        }
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(Durations.format(Duration.ofMinutes(2))).isEqualTo("2m");
    }

    @Test
    void cidrsMatchTheirNetworksOnly() throws Exception {
        Cidr net = Cidr.parse("10.1.0.0/16").orElseThrow();
        assertThat(net.contains(InetAddress.getByName("10.1.200.3"))).isTrue();
        assertThat(net.contains(InetAddress.getByName("10.2.0.1"))).isFalse();
        assertThat(net.contains(InetAddress.getByName("::1"))).isFalse();
        assertThat(Cidr.parse("10.1.2.3").orElseThrow().contains(InetAddress.getByName("10.1.2.3"))).isTrue();
        assertThat(Cidr.parse("fd00::/8").orElseThrow().contains(InetAddress.getByName("fd12::1"))).isTrue();
        assertThat(Cidr.parse("10.0.0.0/12").orElseThrow().contains(InetAddress.getByName("10.15.255.255"))).isTrue();
        assertThat(Cidr.parse("10.0.0.0/12").orElseThrow().contains(InetAddress.getByName("10.16.0.0"))).isFalse();
    }

    @Test
    void budgetCheckWarnsWhenSequentialHookTimeoutsCannotFit() throws Exception {
        AgentConfig fits = NO_ENV.parse("drain: {budget: 30s, hooks: [{name: a, type: sleep, duration: 1s, timeout: 5s}]}");
        assertThat(BudgetCheck.warnings(fits.drain())).isEmpty();
        AgentConfig tooLong = NO_ENV.parse("""
                drain:
                  budget: 10s
                  hooks:
                    - {name: a, type: sleep, duration: 1s, timeout: 5s, priority: 1}
                    - {name: b, type: sleep, duration: 1s, timeout: 4s, priority: 1}
                    - {name: c, type: sleep, duration: 1s, timeout: 5s, priority: 2}
                """);
        assertThat(BudgetCheck.warnings(tooLong.drain())).singleElement().asString()
                .contains("add up to 12s, more than the usable budget 8s");
    }

    @Test
    void budgetCheckCountsHooksAtTheTriggerBesideTheWithdrawalAndThePropagation() throws Exception {
        // probe withdrawal (0s) + fixed propagation 2s beside a 5s hook at the trigger: 5s, then 2s of hooks at quiet.
        AgentConfig beside = NO_ENV.parse("""
                drain:
                  budget: 9s
                  hooks:
                    - {name: leave, type: sleep, duration: 1s, timeout: 5s, at: trigger}
                    - {name: after, type: sleep, duration: 1s, timeout: 2s}
                """);
        assertThat(BudgetCheck.warnings(beside.drain())).isEmpty();
        AgentConfig tooLong = NO_ENV.parse("""
                drain:
                  budget: 9s
                  hooks:
                    - {name: leave, type: sleep, duration: 1s, timeout: 6s, at: trigger}
                    - {name: after, type: sleep, duration: 1s, timeout: 2s}
                """);
        assertThat(BudgetCheck.warnings(tooLong.drain())).singleElement().asString()
                .contains("add up to 8s, more than the usable budget 7s");
    }
}
