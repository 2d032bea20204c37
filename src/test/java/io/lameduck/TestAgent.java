package io.lameduck;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.config.AgentConfig;
import io.lameduck.config.ConfigLoader;
import io.lameduck.http.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** A real agent on 127.0.0.1, port 0, built from YAML, with a small HTTP client for tests. */
public final class TestAgent implements AutoCloseable {
    public record Reply(int status, JsonNode json, HttpResponse<String> raw) {
        public String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }

    private final Agent agent;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestAgent(Agent agent) {
        this.agent = agent;
    }

    public static TestAgent start(String yaml) throws Exception {
        return start(yaml, Map.of());
    }

    public static TestAgent start(String yaml, Map<String, String> env) throws Exception {
        AgentConfig config = new ConfigLoader(env).parse("server: {host: 127.0.0.1, port: 0}\n" + yaml);
        Agent agent = Agent.create(config);
        agent.start();
        return new TestAgent(agent);
    }

    public Agent agent() {
        return agent;
    }

    public int port() {
        return agent.port();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port() + path);
    }

    public Reply get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    public Reply send(String method, String path, String body) {
        return send(HttpRequest.newBuilder(uri(path)).method(method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)));
    }

    public Reply send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(response.statusCode(), parse(response.body()), response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public HttpClient http() {
        return http;
    }

    public static JsonNode parseJson(String body) {
        return parse(body);
    }

    static JsonNode parse(String body) {
        try {
            return Json.MAPPER.readTree(body);
        } catch (IOException e) {
            return null; // not JSON (e.g. /metrics); tests look at raw().body()
        }
    }

    @Override
    public void close() throws Exception {
        agent.stop();
    }
}
