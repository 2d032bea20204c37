package io.lameduck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The selector thread of a JDK HTTP client that has made a request ends when the agent's exit asks it to. */
class HttpClientSelectorsTest {
    @Test
    void endsTheSelectorThreadOfAClientThatIsStillReferenced() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        try {
            Set<Thread> before = new HashSet<>(Thread.getAllStackTraces().keySet());
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<Void> response = client.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/")).build(), HttpResponse.BodyHandlers.discarding());
            assertThat(response.statusCode()).isEqualTo(204);
            Set<Thread> ours = new HashSet<>(Thread.getAllStackTraces().keySet());
            ours.removeAll(before);
            Thread selector = ours.stream().filter(t -> t.getName().endsWith("-SelectorManager")).findFirst().orElseThrow();

            // Only this test's client: other tests' clients in this JVM keep theirs.
            assertThat(HttpClientSelectors.end(ours::contains)).isEqualTo(1);

            assertThat(selector.isAlive()).isFalse();
            assertThat(client).isNotNull(); // still referenced: the selector did not end for want of its client
        } finally {
            server.stop(0);
        }
    }

    @Test
    void endsNothingWhenNoSelectorIsAccepted() throws Exception {
        assertThat(HttpClientSelectors.end(thread -> false)).isZero();
    }
}
