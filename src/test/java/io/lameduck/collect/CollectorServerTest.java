package io.lameduck.collect;

import static org.assertj.core.api.Assertions.assertThat;

import io.lameduck.time.TimeSource;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The collector's HTTP endpoints on a real Jetty on loopback, over a ledger filled directly (no API server: the feed never starts). */
class CollectorServerTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");
    private final HttpClient http = HttpClient.newHttpClient();
    private final FleetLedger ledger = new FleetLedger(FleetLedger.Bounds.DEFAULT, Clock.fixed(NOW, ZoneOffset.UTC));
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private CollectorServer server;

    /** Stores nothing: these tests are about HTTP. */
    private static final LedgerStore NOWHERE = new LedgerStore() {
        @Override
        public Optional<LedgerState> load() {
            return Optional.empty();
        }

        @Override
        public int save(LedgerState state) {
            return 0;
        }
    };

    @BeforeEach
    void start() throws Exception {
        Collector collector = new Collector(null, NOWHERE, ledger, registry, TimeSource.SYSTEM, Duration.ofSeconds(1));
        server = new CollectorServer("127.0.0.1", 0, collector, registry);
        server.start();
        ledger.record(FleetLedgerTest.termination("a", NOW.minusSeconds(20), new WorkloadKey("shop", "Deployment", "web"), "prestop", "completed"));
        ledger.record(FleetLedgerTest.termination("b", NOW.minusSeconds(10), new WorkloadKey("shop", "Deployment", "web"), "signal", "completed"));
        ledger.record(FleetLedgerTest.termination("c", NOW, new WorkloadKey("blog", "StatefulSet", "db"), "prestop", "failed"));
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void listsTheRecentTerminationsNewestFirstByWorkload() throws Exception {
        HttpResponse<String> all = get("/terminations");
        assertThat(all.statusCode()).isEqualTo(200);
        assertThat(all.headers().firstValue("content-type")).contains("application/json");
        assertThat(all.body()).startsWith("{\"count\":3,").containsSubsequence("\"eventUid\":\"c\"", "\"eventUid\":\"b\"", "\"eventUid\":\"a\"");

        HttpResponse<String> web = get("/terminations?namespace=shop&workload=web&limit=1");
        assertThat(web.body()).startsWith("{\"count\":1,").contains("\"eventUid\":\"b\"", "\"trigger\":\"signal\"");
        assertThat(get("/terminations?namespace=nowhere").body()).isEqualTo("{\"count\":0,\"terminations\":[]}\n");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/terminations?limit=0           | limit must be a whole number from 1 to 1000; got 0",
        "/terminations?limit=1001        | limit must be a whole number from 1 to 1000",
        "/terminations?limit=ten         | got ten",
        "/terminations?pod=web-1         | unknown parameter pod; expected namespace, workload, limit",
        "/terminations?namespace=a&namespace=b | parameter namespace given more than once",
        "/terminations?namespace=        | namespace and workload must be names of 1 to 253 characters",
        "/terminations?workload=%FF%FE   | not valid UTF-8 form encoding"})
    void badParametersAreA400ThatSaysWhatIsAllowed(String path, String message) throws Exception {
        HttpResponse<String> response = get(path);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.body()).startsWith("{\"error\":").contains(message);
    }

    @Test
    void aLongNameIsRefusedAndTheProbesAnswer() throws Exception {
        assertThat(get("/terminations?workload=" + "w".repeat(254)).statusCode()).isEqualTo(400);
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
        assertThat(get("/readyz").statusCode()).as("the Events were never listed").isEqualTo(503);
        assertThat(get("/nope").statusCode()).isEqualTo(404);
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/terminations"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("allow")).contains("GET, HEAD");
    }

    @Test
    void metricsHaveTheFleetAndTheCollectorsOwn() throws Exception {
        String metrics = get("/metrics").body();
        assertThat(metrics).contains("lameduck_fleet_terminations_total{namespace=\"blog\",outcome=\"failed\",trigger=\"prestop\",workload=\"db\","
                + "workload_kind=\"StatefulSet\"} 1.0", "lameduck_collector_workloads 2.0", "lameduck_collector_reports_total{result=\"invalid\"} 0.0");
    }
}
