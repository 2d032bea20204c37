package io.lameduck.drain.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.drain.HookFailedException;
import io.lameduck.sockets.TcpConnectionTable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HttpDrainHookTest {
    private static final Duration BUDGET = Duration.ofSeconds(30);

    private final List<String> received = new CopyOnWriteArrayList<>();
    private final CountDownLatch hangArrived = new CountDownLatch(1);
    private final CountDownLatch releaseHang = new CountDownLatch(1);
    private ExecutorService handlers;
    private HttpServer server;

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        handlers = Executors.newCachedThreadPool();
        server.setExecutor(handlers);
        respond("/drain", 204);
        respond("/created", 201);
        respond("/broken", 503);
        server.createContext("/hang", exchange -> {
            hangArrived.countDown();
            try {
                releaseHang.await(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
    }

    private void respond(String path, int status) {
        server.createContext(path, exchange -> {
            received.add(exchange.getRequestMethod() + " " + path + " x-drain=" + exchange.getRequestHeaders().getFirst("X-Drain"));
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
    }

    @AfterEach
    void stopServer() {
        releaseHang.countDown();
        server.stop(0);
        handlers.shutdownNow();
    }

    private HttpDrainHook hook(String method, URI url, int expectStatus, Duration readTimeout) {
        return new HttpDrainHook(new HttpHook(new HookCommon("tell-app", 0, BUDGET, OnFailure.CONTINUE), method, url,
                Map.of("X-Drain", "yes"), expectStatus, Duration.ofSeconds(1), readTimeout));
    }

    private HttpDrainHook hook(String path, int expectStatus) {
        return hook("POST", url(path), expectStatus, BUDGET);
    }

    private URI url(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    private static Throwable run(HttpDrainHook hook, Duration budget) throws InterruptedException {
        HookThread running = HookThread.start(hook, budget);
        assertThat(running.awaitDone(Duration.ofSeconds(10))).isTrue();
        return running.failure();
    }

    @Test
    void anyTwoHundredStatusSucceedsWhenNoStatusIsExpectedAndSendsMethodAndHeaders() throws Exception {
        assertThat(run(hook("/drain", 0), BUDGET)).isNull();
        assertThat(received).containsExactly("POST /drain x-drain=yes");
    }

    @Test
    void errorStatusFailsNamingUrlStatusAndExpectation() throws Exception {
        assertThat(run(hook("/broken", 0), BUDGET)).isInstanceOf(HookFailedException.class)
                .hasMessage("POST " + url("/broken") + " answered status 503, expected any 2xx");
    }

    @Test
    void expectedStatusMustMatchExactly() throws Exception {
        assertThat(run(hook("/created", 201), BUDGET)).isNull();
        assertThat(run(hook("/drain", 201), BUDGET)).isInstanceOf(HookFailedException.class)
                .hasMessage("POST " + url("/drain") + " answered status 204, expected 201");
    }

    @Test
    void refusedConnectionFailsSayingSo() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        URI url = URI.create("http://127.0.0.1:" + closedPort + "/drain");

        assertThat(run(hook("POST", url, 0, BUDGET), BUDGET)).isInstanceOf(HookFailedException.class)
                .hasMessageStartingWith("POST " + url + ": could not connect (")
                .hasMessageEndingWith("is the application listening on 127.0.0.1:" + closedPort + "?");
    }

    @Test
    void noResponseWithinTheReadTimeoutFails() throws Exception {
        assertThat(run(hook("GET", url("/hang"), 0, Duration.ofMillis(300)), BUDGET)).isInstanceOf(HookFailedException.class)
                .hasMessage("GET " + url("/hang") + ": no response within 300ms");
    }

    @Test
    void noResponseWithinTheBudgetFailsWhenTheBudgetIsShorterThanTheReadTimeout() throws Exception {
        assertThat(run(hook("/hang", 0), Duration.ofMillis(200))).isInstanceOf(HookFailedException.class)
                .hasMessage("POST " + url("/hang") + ": no response within 200ms");
    }

    @Test
    void interruptedWhileTheServerHangsEndsPromptlyAndClosesTheConnection() throws Exception {
        HookThread running = HookThread.start(hook("/hang", 0), BUDGET);
        assertThat(hangArrived.await(10, TimeUnit.SECONDS)).isTrue();
        TcpConnectionTable table = TcpConnectionTable.system();
        assertThat(table.established(server.getAddress().getPort())).isEqualTo(1);

        running.interrupt();

        assertThat(running.awaitDone(Duration.ofSeconds(1))).isTrue();
        assertThat(running.failure()).isInstanceOf(InterruptedException.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> table.established(server.getAddress().getPort()) == 0);
    }
}
