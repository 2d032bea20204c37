package io.lameduck.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Optional;

/** Talks to a running agent's admin endpoints for the CLI client commands. */
final class AgentClient {
    private final URI base;
    private final Optional<String> token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    AgentClient(URI base, Optional<String> token) {
        this.base = base;
        this.token = token;
    }

    /** JSON indented for people; anything else as it came. */
    static String pretty(String json) {
        try {
            ObjectMapper mapper = new ObjectMapper();
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(mapper.readTree(json));
        } catch (IOException e) {
            return json.strip();
        }
    }

    /** Sends the request and returns the body of a 2xx answer. */
    String send(String method, String path, String jsonBody, Duration timeout) throws AgentUnreachableException, InterruptedException {
        URI uri = base.resolve(path);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout)
                .method(method, jsonBody == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(jsonBody))
                .header("Accept", "application/json");
        if (jsonBody != null) {
            request.header("Content-Type", "application/json");
        }
        token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new AgentUnreachableException("cannot reach the agent at " + base + " (connection refused): is `lameduck serve` running there?"
                    + " Point the CLI at it with --agent or LAMEDUCK_AGENT_URL");
        } catch (HttpTimeoutException e) {
            throw new AgentUnreachableException("the agent at " + base + " did not answer " + method + " " + path + " within " + timeout.toSeconds() + "s");
        } catch (IOException e) {
            throw new AgentUnreachableException("cannot talk to the agent at " + base + ": " + e);
        }
        if (response.statusCode() / 100 != 2) {
            throw new AgentUnreachableException("the agent answered " + method + " " + path + " with " + response.statusCode() + ": " + response.body().strip());
        }
        return response.body();
    }
}
