package io.lameduck.cli;

import io.lameduck.config.ConfigLoader;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Options shared by the commands that talk to a running agent. */
final class ClientOptions {
    @Option(names = "--agent", paramLabel = "URL", defaultValue = "${env:LAMEDUCK_AGENT_URL:-http://127.0.0.1:7979}",
            description = "Agent base URL (default: ${DEFAULT-VALUE}; env LAMEDUCK_AGENT_URL).")
    URI agent;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "File holding the bearer token for control endpoints (default: env " + ConfigLoader.TOKEN_ENV + ", if set).")
    Path tokenFile;

    /** Sends the request and prints the agent's JSON answer, indented; returns the exit code 0. */
    int printReply(String method, String path, String jsonBody, Duration timeout) throws AgentUnreachableException, InterruptedException {
        System.out.println(AgentClient.pretty(client().send(method, path, jsonBody, timeout)));
        return 0;
    }

    AgentClient client() throws AgentUnreachableException {
        Optional<String> token = Optional.ofNullable(System.getenv(ConfigLoader.TOKEN_ENV)).map(String::strip).filter(s -> !s.isEmpty());
        if (tokenFile != null) {
            try {
                token = Optional.of(Files.readString(tokenFile).strip());
            } catch (IOException e) {
                throw new AgentUnreachableException("cannot read --token-file " + tokenFile + ": " + e.getMessage());
            }
        }
        URI base = agent.toString().endsWith("/") ? agent : URI.create(agent + "/");
        return new AgentClient(base, token);
    }
}
