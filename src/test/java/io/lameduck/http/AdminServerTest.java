package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.TestAgent;
import io.lameduck.TestAgent.Reply;
import io.lameduck.lifecycle.State;
import io.lameduck.logging.LogCapture;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every endpoint and error code against a real Jetty on a loopback port. */
class AdminServerTest {
    private static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    private TestAgent agent;

    @BeforeEach
    void start() throws Exception {
        agent = TestAgent.start("drain: {budget: 10s, safetyMargin: 1s, propagationDelay: 100ms}\n",
                Map.of("LAMEDUCK_TOKEN", "t0ps3cret"));
    }

    @AfterEach
    void stop() throws Exception {
        agent.close();
    }

    @Test
    void livenessAnswersOnBothPathsWithAGeneratedRequestId() {
        for (String path : new String[] {"/livez", "/healthz"}) {
            Reply reply = agent.get(path);
            assertThat(reply.status()).isEqualTo(200);
            assertThat(reply.json().get("status").asText()).isEqualTo("ok");
            assertThat(reply.json().get("state").asText()).isEqualTo("READY");
            assertThat(reply.header("X-Request-ID")).matches(UUID);
            assertThat(reply.header("Content-Type")).startsWith("application/json");
        }
    }

    @Test
    void requestIdIsEchoedWhenSaneAndReplacedWhenNot() {
        Reply echoed = agent.send(HttpRequest.newBuilder(agent.uri("/livez")).header("X-Request-ID", "abc-123"));
        assertThat(echoed.header("X-Request-ID")).isEqualTo("abc-123");
        Reply replaced = agent.send(HttpRequest.newBuilder(agent.uri("/livez")).header("X-Request-ID", "bad id <script>"));
        assertThat(replaced.header("X-Request-ID")).matches(UUID);
        Reply error = agent.send(HttpRequest.newBuilder(agent.uri("/nowhere")).header("X-Request-ID", "req-404"));
        assertThat(error.json().get("requestId").asText()).isEqualTo("req-404");
    }

    @Test
    void readinessIs200OnlyWhenReadyAndNotInMaintenanceAndNeverCached() {
        Reply ready = agent.get("/readyz");
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().get("ready").asBoolean()).isTrue();
        assertThat(ready.header("Cache-Control")).isEqualTo("no-store");

        agent.send("PUT", "/maintenance", "{\"reason\": \"db migration\"}");
        Reply maintenance = agent.get("/readyz");
        assertThat(maintenance.status()).isEqualTo(503);
        assertThat(maintenance.json().get("state").asText()).isEqualTo("READY");
        assertThat(maintenance.json().get("reason").asText()).isEqualTo("maintenance: db migration");

        agent.send("DELETE", "/maintenance", null);
        assertThat(agent.get("/readyz").status()).isEqualTo(200);
    }

    @Test
    void statusShowsStateHistoryMaintenanceAndConfigWithoutSecrets() {
        Reply status = agent.get("/status");
        assertThat(status.status()).isEqualTo(200);
        JsonNode json = status.json();
        assertThat(json.get("state").asText()).isEqualTo("READY");
        assertThat(json.get("history")).hasSize(2);
        assertThat(json.get("maintenance").get("active").asBoolean()).isFalse();
        assertThat(json.get("drain").isNull()).isTrue();
        assertThat(json.get("withdrawStrategy").asText()).isEqualTo("probe");
        assertThat(json.get("config").get("drain").get("budget").asText()).isEqualTo("10s");
        assertThat(json.get("config").get("security").get("tokenConfigured").asBoolean()).isTrue();
        assertThat(status.raw().body()).doesNotContain("t0ps3cret");
    }

    @Test
    void maintenanceOnWithTtlEndsByItself() {
        Reply on = agent.send("PUT", "/maintenance", "{\"reason\": \"cache warm-up\", \"ttl\": \"300ms\"}");
        assertThat(on.status()).isEqualTo(200);
        assertThat(on.json().get("active").asBoolean()).isTrue();
        assertThat(on.json().get("reason").asText()).isEqualTo("cache warm-up");
        assertThat(on.json().get("expiresAt").asText()).isNotBlank();
        assertThat(agent.get("/maintenance").json().get("active").asBoolean()).isTrue();

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(agent.get("/readyz").status()).isEqualTo(200));
        JsonNode off = agent.get("/maintenance").json();
        assertThat(off.get("active").asBoolean()).isFalse();
        assertThat(off.get("reason").asText()).isEqualTo("TTL expired");
    }

    @Test
    void maintenanceOffWhenNotOnIsANoOp() {
        Reply off = agent.send("DELETE", "/maintenance", null);
        assertThat(off.status()).isEqualTo(200);
        assertThat(off.json().get("active").asBoolean()).isFalse();
    }

    @Test
    void controlRequestsWhoseBodiesNeverFinishHoldNoThreadAndProbesStillAnswer() throws Exception {
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 60; i++) {
                stalled.add(unfinishedMaintenanceRequest());
            }
            for (String probe : new String[] {"/livez", "/readyz", "/livez", "/readyz"}) {
                HttpResponse<String> answer = agent.http().send(HttpRequest.newBuilder(agent.uri(probe)).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(answer.statusCode()).as(probe).isEqualTo(200);
            }
            assertThat(agent.get("/maintenance").json().get("active").asBoolean()).isFalse();
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    @Test
    void anUnfinishedBodyIsAnswered408AsJsonAndChangesNothing() throws Exception {
        try (Socket socket = unfinishedMaintenanceRequest()) {
            socket.setSoTimeout(15_000);
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 408 ").contains("application/json")
                    .contains("\"status\":408").contains("the request body did not arrive within 5s")
                    .doesNotContain("Exception");
        }
        assertThat(agent.get("/maintenance").json().get("active").asBoolean()).isFalse();
    }

    /** Declares a 1000-byte body, sends 12 bytes of it and then nothing. */
    private Socket unfinishedMaintenanceRequest() throws Exception {
        Socket socket = new Socket("127.0.0.1", agent.port());
        socket.getOutputStream().write(("PUT /maintenance HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000\r\n\r\n{\"reason\": \"").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    /**
     * Clients abuse the admin port at the header level while the kubelet probes it: twenty trickle a request one byte
     * every 50 ms and never finish its headers (slowloris), others keep sending headers twice the limit, others a
     * request line of 1 MiB. Every probe, each on a new connection as the kubelet makes them, is answered 200 within the
     * probe timeout the chart gives the kubelet; the oversized requests get 431 (headers) or 414 (request line),
     * never a 5xx, and every one an answer; and the agent then stops within its grace though the tricklers are still
     * connected.
     */
    @Test
    void probesAreAnsweredWithinTheChartsProbeTimeoutWhileClientsTrickleHeadersAndSendOversizedOnes() throws Exception {
        Duration probeTimeout = chartProbeTimeout();
        byte[] oversizedHeaders = ("GET /livez HTTP/1.1\r\nHost: agent\r\nX-Big: " + "h".repeat(2 * AdminServer.MAX_REQUEST_HEADER_BYTES)
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] hugeRequestLine = ("GET /livez?" + "q".repeat(1024 * 1024) + " HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        List<Integer> headerAnswers = new CopyOnWriteArrayList<>();
        List<Integer> requestLineAnswers = new CopyOnWriteArrayList<>();
        AtomicBoolean abusing = new AtomicBoolean(true);
        List<Socket> tricklers = new ArrayList<>();
        AtomicInteger trickled = new AtomicInteger();
        ExecutorService abusers = Executors.newCachedThreadPool();
        List<Future<Void>> abuse = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                tricklers.add(new Socket(InetAddress.getLoopbackAddress(), agent.port()));
            }
            abuse.add(abusers.submit(() -> trickle(tricklers, abusing, trickled)));
            for (int i = 0; i < 2; i++) {
                abuse.add(abusers.submit(() -> repeat(abusing, () -> headerAnswers.add(statusOf(oversizedHeaders)))));
                abuse.add(abusers.submit(() -> repeat(abusing, () -> requestLineAnswers.add(statusOf(hugeRequestLine)))));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> trickled.get() >= 3 * tricklers.size()
                    && !headerAnswers.isEmpty() && !requestLineAnswers.isEmpty());

            List<String> slow = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                String path = i % 2 == 0 ? "/livez" : "/readyz";
                long start = System.nanoTime();
                int status = statusOf(("GET " + path + " HTTP/1.1\r\nHost: kubelet\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII), probeTimeout);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                if (status != 200 || took.compareTo(probeTimeout) >= 0) {
                    slow.add(path + " answered " + status + " after " + took.toMillis() + " ms");
                }
                TimeUnit.MILLISECONDS.sleep(50); // a probe period, compressed
            }
            int trickledDuringProbes = trickled.get();
            abusing.set(false);
            for (Future<Void> abuser : abuse) {
                abuser.get(30, TimeUnit.SECONDS); // rethrows "no answer within ..." and a trickler the server cut off
            }

            assertThat(slow).as("probes not answered 200 within the chart's %s probe timeout", probeTimeout).isEmpty();
            assertThat(trickledDuringProbes).as("the tricklers kept trickling throughout").isGreaterThan(20 * tricklers.size());
            assertThat(headerAnswers).isNotEmpty().allMatch(status -> status == 431, "431 Request Header Fields Too Large");
            assertThat(requestLineAnswers).isNotEmpty().allMatch(status -> status == 414, "414 URI Too Long");
            assertThat(agent.get("/metrics").raw().body()).doesNotContain("code=\"5");

            long stopping = System.nanoTime();
            agent.close(); // the tricklers are still connected
            assertThat(Duration.ofNanos(System.nanoTime() - stopping)).isLessThan(Duration.ofSeconds(5 + 1));
        } finally {
            abusing.set(false);
            abusers.shutdownNow();
            for (Socket socket : tricklers) {
                socket.close();
            }
        }
    }

    /** The kubelet's probe timeout as the chart configures it: the least of the sidecar's liveness and readiness probes'. */
    private static Duration chartProbeTimeout() throws Exception {
        JsonNode sidecar = new ObjectMapper(new YAMLFactory()).readTree(new File("helm/lameduck/values.yaml")).path("sidecar");
        long seconds = Math.min(sidecar.at("/livenessProbe/timeoutSeconds").asLong(), sidecar.at("/readinessProbe/timeoutSeconds").asLong());
        assertThat(seconds).as("sidecar probe timeoutSeconds in helm/lameduck/values.yaml").isPositive();
        return Duration.ofSeconds(seconds);
    }

    /** Sends the start of a request on every socket, one byte per socket every 50 ms, never the end of its headers. */
    private static Void trickle(List<Socket> sockets, AtomicBoolean going, AtomicInteger sent) throws Exception {
        byte[] start = "GET /readyz HTTP/1.1\r\nHost: agent\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; going.get(); i++) {
            for (Socket socket : sockets) {
                socket.getOutputStream().write(i < start.length ? start[i] : 'z');
                socket.getOutputStream().flush();
                sent.incrementAndGet();
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        return null;
    }

    private interface Exchange {
        void run() throws Exception;
    }

    private static Void repeat(AtomicBoolean going, Exchange exchange) throws Exception {
        while (going.get()) {
            exchange.run();
        }
        return null;
    }

    private int statusOf(byte[] request) throws Exception {
        return statusOf(request, Duration.ofSeconds(10));
    }

    /**
     * Sends {@code request} on a new connection and returns the status of the answer; fails when none comes within
     * {@code timeout}. The server may answer (431, 414) and close before it has read everything: the write then fails,
     * and the answer is read all the same.
     */
    private int statusOf(byte[] request, Duration timeout) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), agent.port())) {
            socket.setSoTimeout((int) timeout.toMillis());
            Thread writer = new Thread(() -> {
                try {
                    socket.getOutputStream().write(request);
                    socket.getOutputStream().flush();
                } catch (IOException answeredEarly) {
                    // the server answered and closed: the answer is what counts
                }
            });
            writer.start();
            StringBuilder line = new StringBuilder();
            try {
                for (int b = socket.getInputStream().read(); b != -1 && b != '\n'; b = socket.getInputStream().read()) {
                    line.append((char) b);
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no answer within " + timeout + " to " + new String(request, 0, Math.min(40, request.length),
                        StandardCharsets.US_ASCII) + "...", e);
            } catch (IOException reset) {
                // reset after an early answer: what was read is the answer
            }
            socket.close(); // unblocks a writer still pushing a request the server stopped reading
            writer.join(timeout.toMillis());
            String[] parts = line.toString().split(" ");
            assertThat(parts).as("status line %s", line).hasSizeGreaterThan(1);
            return Integer.parseInt(parts[1]);
        }
    }

    @Test
    void maintenanceTtlsThatWouldOverflowAre400AndLeaveMaintenanceOff() {
        for (String ttl : new String[] {"2562048h", "99999999999999999999h", "169h", "9223372036854775807ms"}) {
            Reply reply = agent.send("PUT", "/maintenance", "{\"reason\": \"x\", \"ttl\": \"" + ttl + "\"}");
            assertThat(reply.status()).as(ttl).isEqualTo(400);
            assertThat(reply.json().get("error").asText()).as(ttl).contains("expected a duration from 1ms to 168h");
            assertThat(agent.get("/maintenance").json().get("active").asBoolean()).as(ttl).isFalse();
        }
        assertThat(agent.get("/readyz").status()).isEqualTo(200);
    }

    @Test
    void badMaintenanceRequestsAre400WithTheReasonAndChangeNothing() {
        Map<String, String> cases = Map.of(
                "{\"reason\": ", "request body is not valid JSON",
                "[1,2]", "request body must be a JSON object",
                "", "request body is empty",
                "{}", "field \"reason\" is required",
                "{\"reason\": \"  \"}", "field \"reason\" is required",
                "{\"reason\": \"x\", \"ttl\": \"forever\"}", "field \"ttl\" is \"forever\"; expected a duration from 1ms to 168h",
                "{\"reason\": \"x\", \"ttl\": \"0s\"}", "field \"ttl\" is \"0s\"",
                "{\"reason\": \"x\", \"colour\": \"red\"}", "unknown field \"colour\"",
                "{\"reason\": \"" + "r".repeat(300) + "\"}", "at most 256 are allowed");
        cases.forEach((body, message) -> {
            Reply reply = agent.send("PUT", "/maintenance", body);
            assertThat(reply.status()).as(body).isEqualTo(400);
            assertThat(reply.json().get("error").asText()).as(body).contains(message);
            assertThat(reply.json().get("status").asInt()).isEqualTo(400);
        });
        assertThat(agent.get("/maintenance").json().get("active").asBoolean()).isFalse();
    }

    @Test
    void oversizedBodiesAre413WhetherDeclaredOrStreamed() {
        String big = "{\"reason\": \"" + "x".repeat(70 * 1024) + "\"}";
        Reply declared = agent.send("PUT", "/maintenance", big);
        assertThat(declared.status()).isEqualTo(413);
        assertThat(declared.json().get("error").asText()).contains("larger than the 65536-byte limit");

        Reply streamed = agent.send(HttpRequest.newBuilder(agent.uri("/maintenance")).method("PUT",
                HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big.getBytes()))));
        assertThat(streamed.status()).isEqualTo(413);
        assertThat(agent.get("/maintenance").json().get("active").asBoolean()).isFalse();
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405WithAllow() {
        Reply missing = agent.get("/readyz/extra");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().get("error").asText()).contains("no endpoint at /readyz/extra; endpoints: /livez");

        Reply wrong = agent.send("POST", "/status", "{}");
        assertThat(wrong.status()).isEqualTo(405);
        assertThat(wrong.header("Allow")).isEqualTo("GET");
        assertThat(wrong.json().get("error").asText()).isEqualTo("method POST is not allowed on /status; allowed: GET");

        Reply maintenance = agent.send("POST", "/maintenance", "{}");
        assertThat(maintenance.header("Allow")).isEqualTo("DELETE, GET, PUT");

        Reply metrics = agent.send("DELETE", "/metrics", null);
        assertThat(metrics.status()).isEqualTo(405);
        assertThat(metrics.json().get("error").asText()).contains("use GET");
    }

    @Test
    void probesAndScrapesAreLoggedAtDebugAndEverythingElseAtInfo() {
        try (LogCapture lines = LogCapture.of("io.lameduck.access")) {
            for (String path : List.of("/livez", "/healthz", "/readyz", "/metrics", "/status", "/readyz/extra")) {
                agent.get(path);
            }
            agent.send("POST", "/status", "{}");
            await().atMost(Duration.ofSeconds(5)).until(() -> lines.events().size() == 7); // logged once each answer is out
            // "GET /livez 200 0ms from 127.0.0.1"
            assertThat(lines.events()).extracting(e -> e.message().split(" ")[1] + " " + e.message().split(" ")[0], e -> e.level().toString())
                    .containsExactlyInAnyOrder(
                    tuple("/livez GET", "DEBUG"), tuple("/healthz GET", "DEBUG"),
                    tuple("/readyz GET", "DEBUG"), tuple("/metrics GET", "DEBUG"),
                    tuple("/status GET", "DEBUG"), tuple("/readyz/extra GET", "INFO"),
                    tuple("/status POST", "INFO"));
        }
    }

    @ParameterizedTest
    @CsvSource({
            "GET, /readyz, 200, true", "GET, /readyz, 503, true", "GET, /livez, 503, false", "GET, /healthz, 200, true",
            "HEAD, /metrics, 200, true", "GET, /metrics, 500, false", "GET, /status, 200, true", "GET, /prestop, 200, false",
            "POST, /readyz, 405, false", "GET, /maintenance, 200, false", "GET, /nowhere, 404, false"})
    void onlyExpectedAnswersToProbesAndScrapesAreRoutine(String method, String path, int status, boolean routine) {
        assertThat(RequestFilter.routine(method, path, status)).isEqualTo(routine);
    }

    @Test
    void metricsAreServedInPrometheusTextFormat() {
        agent.get("/livez");
        Reply metrics = agent.get("/metrics");
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.raw().body())
                .contains("lameduck_info{version=")
                .contains("lameduck_http_requests_total{code=\"200\",path=\"/livez\"}");
    }

    @Test
    void prestopDrainsAndReturnsTheReportThenReadinessStays503AndMaintenanceIsRefused() {
        Reply prestop = agent.send("POST", "/prestop", null);
        assertThat(prestop.status()).isEqualTo(200);
        JsonNode report = prestop.json();
        assertThat(report.get("trigger").asText()).isEqualTo("prestop");
        assertThat(report.get("outcome").asText()).isEqualTo("completed");
        assertThat(report.get("steps").findValuesAsText("name")).containsExactly("unready", "withdraw", "propagate", "hooks");
        assertThat(report.get("deadlineSource").asText()).startsWith("drain.budget 10.000s minus safety margin 1.000s");

        assertThat(agent.agent().lifecycle().state()).isEqualTo(State.DRAINED);
        Reply ready = agent.get("/readyz");
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.json().get("reason").asText()).startsWith("state is DRAINED");
        assertThat(agent.get("/status").json().get("drain").get("id").asText()).isEqualTo(report.get("id").asText());
        assertThat(agent.get("/livez").status()).isEqualTo(200);

        Reply maintenance = agent.send("PUT", "/maintenance", "{\"reason\": \"too late\"}");
        assertThat(maintenance.status()).isEqualTo(409);
        assertThat(maintenance.json().get("error").asText()).contains("maintenance is only valid while READY");

        Reply again = agent.get("/prestop");
        assertThat(again.json().get("id").asText()).isEqualTo(report.get("id").asText());
        assertThat(agent.send("POST", "/prestop?trigger=bogus", null).status()).isEqualTo(400);
    }

    @Test
    void prestopFinalMustBeTrueOrFalseAndStandaloneEveryPrestopDrainsForGood() {
        Reply bogus = agent.send("POST", "/prestop?final=yes", null);
        assertThat(bogus.status()).isEqualTo(400);
        assertThat(bogus.json().get("error").asText()).contains("final=yes is not known", "final=true");
        assertThat(agent.agent().lifecycle().state()).as("a refused request changes nothing").isEqualTo(State.READY);

        Reply drained = agent.send("POST", "/prestop?final=false", null);
        assertThat(drained.json().get("id").asText()).as("without the Kubernetes API nothing tells a restart from a deletion")
                .startsWith("drain-");
        assertThat(agent.agent().lifecycle().state()).isEqualTo(State.DRAINED);
        assertThat(agent.get("/status").json().get("restart").isNull()).as("no restart cycle ever ran").isTrue();
    }
}
