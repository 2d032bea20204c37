package io.lameduck.cli;

import io.lameduck.config.ConfigLoader;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** Options shared by the commands that talk to a running agent. */
final class ClientOptions {
    @Option(names = "--agent", paramLabel = "URL", defaultValue = "${env:LAMEDUCK_AGENT_URL:-http://127.0.0.1:7979}", converter = AgentUrl.class,
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

    /** An agent URL the HTTP client can use: checked here, so a bad one is a usage error (exit 3), not a crash. */
    static final class AgentUrl implements ITypeConverter<URI> {
        @Override
        public URI convert(String text) {
            String expected = "expected an http:// or https:// URL with a host, such as http://127.0.0.1:7979";
            URI uri;
            try {
                uri = new URI(text.strip());
            } catch (URISyntaxException e) {
                throw new TypeConversionException("\"" + text + "\" is not a URL (" + e.getReason() + "); " + expected);
            }
            boolean web = "http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme());
            if (!web || uri.getHost() == null || uri.getPort() > 65535 || uri.getRawQuery() != null || uri.getRawFragment() != null
                    || uri.getRawUserInfo() != null) {
                throw new TypeConversionException("\"" + text + "\": " + expected + " (no user, query or fragment)");
            }
            return uri;
        }
    }

    /** Seconds a client command waits for the agent: a positive whole number up to a day. */
    static final class TimeoutSeconds implements ITypeConverter<Long> {
        static final long MAX = Duration.ofDays(1).toSeconds();

        @Override
        public Long convert(String text) {
            try {
                long seconds = Long.parseLong(text.strip());
                if (seconds >= 1 && seconds <= MAX) {
                    return seconds;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new TypeConversionException("\"" + text + "\": expected a whole number of seconds from 1 to " + MAX);
        }
    }
}
