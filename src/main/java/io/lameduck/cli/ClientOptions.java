package io.lameduck.cli;

import io.lameduck.config.ConfigLoader;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
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
