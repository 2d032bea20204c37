package io.lameduck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lameduck.config.ConfigSchema;
import io.lameduck.http.Json;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged agent as a real process: exit codes, configuration errors, and the CLI (signals: {@link SignalMilestonesIT}). */
@Tag("process")
class AgentProcessIT {
    @TempDir
    Path dir;

    @Test
    void invalidConfigurationExitsThreeNamingThePath() throws Exception {
        try (AgentProcess agent = AgentProcess.serve(dir, "drain: {budget: soon, hooks: [{name: x, type: teleport}]}\n", Map.of())) {
            assertThat(agent.awaitExit(Duration.ofSeconds(20))).isEqualTo(3);
            assertThat(agent.stderrText())
                    .contains("drain.budget: got \"soon\", expected a duration")
                    .contains("drain.hooks[0].type: got \"teleport\"")
                    .doesNotContain("\tat io.lameduck"); // no stack trace for an expected error
        }
    }

    @Test
    void hugeOrFifoConfigFilesExitThreeWithAClearMessage() throws Exception {
        Path huge = Files.writeString(dir.resolve("huge.yaml"), "drain:\n  hooks:\n" + "    - {name: a, type: sleep, duration: 1s}\n".repeat(100_000));
        Path fifo = dir.resolve("fifo.yaml");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        for (Path config : List.of(huge, fifo)) {
            try (AgentProcess agent = AgentProcess.serve(config, Map.of())) {
                assertThat(agent.awaitExit(Duration.ofSeconds(20))).as(config.toString()).isEqualTo(3);
                assertThat(agent.stderrText()).as(config.toString())
                        .containsAnyOf("is larger than 256 KiB", "is not a regular file")
                        .doesNotContain("OutOfMemoryError");
            }
        }
    }

    @Test
    void portInUseExitsFour() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                AgentProcess agent = AgentProcess.start(Map.of("LAMEDUCK_SERVER_HOST", "127.0.0.1",
                        "LAMEDUCK_SERVER_PORT", Integer.toString(taken.getLocalPort())), "serve")) {
            assertThat(agent.awaitExit(Duration.ofSeconds(20))).isEqualTo(4);
            assertThat(agent.stderrText()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .contains("choose another with server.port");
        }
    }

    @Test
    void cliTalksToTheRunningAgent() throws Exception {
        try (AgentProcess agent = AgentProcess.start(Map.of("LAMEDUCK_SERVER_HOST", "127.0.0.1", "LAMEDUCK_SERVER_PORT", "0",
                "LAMEDUCK_DRAIN_PROPAGATION_DELAY", "100ms"), "serve")) {
            int port = agent.awaitListening();
            String url = "http://127.0.0.1:" + port;

            CliRun on = cli("maintenance", "on", "--reason", "db migration", "--ttl", "10m", "--agent", url);
            assertThat(on.exitCode).isZero();
            assertThat(Json.MAPPER.readTree(on.stdout).get("reason").asText()).isEqualTo("db migration");
            assertThat(get(port, "/readyz").statusCode()).isEqualTo(503);
            assertThat(Json.MAPPER.readTree(cli("maintenance", "status", "--agent", url).stdout).get("active").asBoolean()).isTrue();
            assertThat(cli("maintenance", "off", "--agent", url).exitCode).isZero();
            assertThat(get(port, "/readyz").statusCode()).isEqualTo(200);

            CliRun prestop = cli("prestop", "--agent", url);
            assertThat(prestop.exitCode).isZero();
            JsonNode report = Json.MAPPER.readTree(prestop.stdout);
            assertThat(report.get("trigger").asText()).isEqualTo("cli");
            assertThat(report.get("outcome").asText()).isEqualTo("completed");

            CliRun status = cli("status", "--agent", url);
            assertThat(Json.MAPPER.readTree(status.stdout).get("state").asText()).isEqualTo("DRAINED");

            CliRun refused = cli("maintenance", "on", "--reason", "late", "--agent", url);
            assertThat(refused.exitCode).isEqualTo(1);
            assertThat(refused.stderr).contains("409").contains("only valid while READY");

            agent.sigterm();
            assertThat(agent.awaitExit(Duration.ofSeconds(20))).isEqualTo(0);
        }
    }

    @Test
    void cliFailsClearlyWhenTheAgentIsUnreachableOrArgumentsAreWrong() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        CliRun unreachable = cli("status", "--agent", "http://127.0.0.1:" + closedPort);
        assertThat(unreachable.exitCode).isEqualTo(1);
        assertThat(unreachable.stderr).contains("cannot reach the agent at http://127.0.0.1:" + closedPort)
                .contains("is `lameduck serve` running there?");

        CliRun badFormat = cli("serve", "--log-format", "xml");
        assertThat(badFormat.exitCode).isEqualTo(3);
        assertThat(badFormat.stderr).contains("Invalid value for option '--log-format'");

        CliRun missingReason = cli("maintenance", "on");
        assertThat(missingReason.exitCode).isEqualTo(3);
        assertThat(missingReason.stderr).contains("Missing required option: '--reason");

        for (String[] args : List.of(new String[] {"status", "--agent", "localhost:7979"}, new String[] {"status", "--agent", "http://x:99999"},
                new String[] {"status", "--agent", "ftp://127.0.0.1/"}, new String[] {"prestop", "--timeout", "-5"},
                new String[] {"prestop", "--timeout", "99999999999999"}, new String[] {"prestop", "--timeout", "soon"})) {
            CliRun bad = cli(args);
            assertThat(bad.exitCode).as(String.join(" ", args)).isEqualTo(3);
            assertThat(bad.stderr).as(String.join(" ", args)).startsWith("lameduck: Invalid value for option '--")
                    .containsAnyOf("expected an http:// or https:// URL", "expected a whole number of seconds from 1 to 86400")
                    .doesNotContain("\tat ").doesNotContain("Exception");
        }

        CliRun help = cli("--help");
        assertThat(help.exitCode).isZero();
        assertThat(help.stdout).contains("serve").contains("prestop").contains("maintenance").contains("validate");

        Path good = AgentProcess.writeConfig(dir, "drain: {budget: 20s}\n");
        CliRun valid = cli("validate", "--config", good.toString());
        assertThat(valid.exitCode).isZero();
        assertThat(valid.stdout).contains("valid");
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "server: {port: -1}\n");
        CliRun invalid = cli("validate", "--config", bad.toString());
        assertThat(invalid.exitCode).isEqualTo(3);
        assertThat(invalid.stderr).contains("server.port: got -1, expected a whole number from 0 to 65535");
        // A typo, as a CI pipeline would catch it before the fleet crash-loops: the key's path and what is allowed, exit 3.
        Path typo = Files.writeString(dir.resolve("typo.yaml"), "drain:\n  budgt: 20s\n");
        CliRun misspelt = cli("validate", "--config", typo.toString());
        assertThat(misspelt.exitCode).isEqualTo(3);
        assertThat(misspelt.stdout).doesNotContain(": valid (");
        assertThat(misspelt.stderr).contains("drain.budgt: unknown key; allowed keys here: ").contains("budget")
                .doesNotContain("\tat ").doesNotContain("Exception");

        CliRun schema = cli("validate", "--print-schema");
        assertThat(schema.exitCode).isZero();
        assertThat(new ObjectMapper().readTree(schema.stdout)).isEqualTo(ConfigSchema.generate());
        for (String[] args : List.of(new String[] {"validate"}, new String[] {"validate", "--print-schema", "--config", good.toString()})) {
            CliRun neither = cli(args);
            assertThat(neither.exitCode).as(String.join(" ", args)).isEqualTo(3);
            assertThat(neither.stderr).as(String.join(" ", args)).contains("--config").contains("--print-schema").doesNotContain("\tat ");
        }
    }

    private record CliRun(int exitCode, String stdout, String stderr) {}

    private static CliRun cli(String... args) throws Exception {
        try (AgentProcess process = AgentProcess.start(Map.of(), args)) {
            int code = process.awaitExit(Duration.ofSeconds(60));
            return new CliRun(code, String.join("\n", process.stdout()), process.stderrText());
        }
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
