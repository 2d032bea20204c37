package io.lameduck.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lameduck.config.ConfigException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** {@code lameduck terminations}: its arguments, the service-proxy path it asks, and the table it prints. Against the real node: CollectorOnNodeTest. */
class TerminationsCommandTest {
    private static TerminationsCommand parse(String... args) {
        CommandLine.ParseResult parsed = new CommandLine(new LameduckCommand()).parseArgs(args);
        return (TerminationsCommand) parsed.subcommand().commandSpec().userObject();
    }

    @Test
    void asksTheCollectorThroughTheApiServersServiceProxy() {
        assertThat(parse("terminations").path())
                .isEqualTo("/api/v1/namespaces/lameduck/services/http:lameduck-collector:http/proxy/terminations?limit=50");
        assertThat(parse("terminations", "-n", "shop", "-w", "web.v2", "--limit", "5", "--collector-namespace", "ops",
                "--collector-service", "ld-lameduck-collector").path())
                .isEqualTo("/api/v1/namespaces/ops/services/http:ld-lameduck-collector:http/proxy/terminations?limit=5&namespace=shop&workload=web.v2");
    }

    @Test
    void wrongArgumentsAreRefusedWithWhatIsAllowed() {
        assertThatThrownBy(() -> parse("terminations", "-n", "Shop")).isInstanceOf(ParameterException.class)
                .hasMessageContaining("expected a Kubernetes name of 1 to 63");
        assertThatThrownBy(() -> parse("terminations", "-w", "web_1")).isInstanceOf(ParameterException.class)
                .hasMessageContaining("expected a Kubernetes name of 1 to 253");
        assertThatThrownBy(() -> parse("terminations", "--limit", "0").call()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("--limit must be 1-1000");
        assertThatThrownBy(() -> parse("terminations", "-o", "yaml").call()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("--output table or json");
    }

    @Test
    void printsOneLinePerTerminationAndSaysWhatWentWrongInCapitals() throws Exception {
        String json = """
                {"count":2,"terminations":[
                 {"finishedAt":"2026-12-05T12:00:02Z","workload":{"namespace":"shop","kind":"Deployment","name":"web"},"pod":"web-1",
                  "trigger":"prestop","outcome":"completed","durationSeconds":3.25,"withdrawalConfirmed":true,"trafficStopped":true},
                 {"finishedAt":"2026-12-05T12:00:01Z","workload":{"namespace":"shop","kind":"StatefulSet","name":"db"},"pod":"db-0",
                  "trigger":"signal","outcome":"deadline_exceeded","durationSeconds":28,"withdrawalConfirmed":false,"trafficStopped":false}]}
                """;
        assertThat(TerminationsCommand.table(json).lines()).containsExactly(
                "TIME                  NAMESPACE  WORKLOAD        POD    TRIGGER  OUTCOME            DRAIN  WITHDRAWN      TRAFFIC",
                "2026-12-05T12:00:02Z  shop       deployment/web  web-1  prestop  completed          3.3s   confirmed      stopped",
                "2026-12-05T12:00:01Z  shop       statefulset/db  db-0   signal   deadline_exceeded  28.0s  NOT CONFIRMED  STILL ARRIVING");
        assertThat(TerminationsCommand.table("{\"count\":0,\"terminations\":[]}")).isEqualTo("no terminations recorded\n");
        assertThatThrownBy(() -> TerminationsCommand.table("<html>")).isInstanceOf(CollectorUnreachableException.class)
                .hasMessageContaining("not JSON");
    }
}
