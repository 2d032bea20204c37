package io.lameduck.collect;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class FleetMetricsTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");

    @Test
    void exportsTheLedgerByWorkloadWithCumulativeBuckets() throws Exception {
        FleetLedger ledger = new FleetLedger(FleetLedger.Bounds.DEFAULT, Clock.fixed(NOW, ZoneOffset.UTC));
        WorkloadKey web = new WorkloadKey("shop", "Deployment", "web");
        ledger.record(FleetLedgerTest.termination("a", NOW, web, "prestop", "completed"));
        ledger.record(FleetLedgerTest.termination("b", NOW, web, "prestop", "completed"));
        ledger.record(FleetLedgerTest.termination("c", NOW, web, "signal", "failed"));
        ledger.record(FleetLedgerTest.termination("d", NOW, web, "prestop", "completed", "kubelet-eviction"));
        ledger.record(new RestartCycleEnd("r1", NOW, web, "web-1", "restart-1", "container-exit", "restored"));
        ledger.record(new RestartCycleEnd("r2", NOW, web, "web-2", "restart-2", "container-exit", "restored"));
        ledger.record(new RestartCycleEnd("r3", NOW, web, "web-2", "restart-3", "container-restart", "restored-without-restart"));
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new FleetMetrics(ledger));

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
        String text = out.toString();

        String labels = "namespace=\"shop\",workload=\"web\",workload_kind=\"Deployment\"";
        assertThat(text)
                .contains("lameduck_fleet_terminations_total{namespace=\"shop\",outcome=\"completed\",trigger=\"prestop\","
                        + "workload=\"web\",workload_kind=\"Deployment\"} 3.0")
                .contains("lameduck_fleet_termination_causes_total{cause=\"kubelet-eviction\"," + labels + "} 1.0")
                .contains("lameduck_fleet_terminations_total{namespace=\"shop\",outcome=\"failed\",trigger=\"signal\","
                        + "workload=\"web\",workload_kind=\"Deployment\"} 1.0")
                .contains("lameduck_fleet_restart_cycles_total{namespace=\"shop\",outcome=\"restored\",trigger=\"container-exit\","
                        + "workload=\"web\",workload_kind=\"Deployment\"} 2.0")
                .contains("lameduck_fleet_restart_cycles_total{namespace=\"shop\",outcome=\"restored-without-restart\","
                        + "trigger=\"container-restart\",workload=\"web\",workload_kind=\"Deployment\"} 1.0")
                .contains("lameduck_fleet_withdrawals_unconfirmed_total{" + labels + "} 1.0")
                .contains("lameduck_fleet_traffic_not_stopped_total{" + labels + "} 0.0")
                .contains("lameduck_fleet_requests_after_withdrawal_total{" + labels + "} 48.0")
                // each drain took 4.2 s: not in the 3 s bucket, in the 5 s one and every one above
                .contains("lameduck_fleet_drain_duration_seconds_bucket{" + labels + ",le=\"3.0\"} 0")
                .contains("lameduck_fleet_drain_duration_seconds_bucket{" + labels + ",le=\"5.0\"} 4")
                .contains("lameduck_fleet_drain_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 4")
                .contains("lameduck_fleet_drain_duration_seconds_count{" + labels + "} 4")
                .contains("lameduck_fleet_step_duration_seconds_count{namespace=\"shop\",step=\"propagate\",workload=\"web\","
                        + "workload_kind=\"Deployment\"} 4")
                .contains("lameduck_fleet_traffic_after_withdrawal_seconds_bucket{" + labels + ",le=\"1.0\"} 0")
                .contains("lameduck_fleet_traffic_after_withdrawal_seconds_bucket{" + labels + ",le=\"2.0\"} 4");
        assertThat(text).doesNotContain("pod=");
    }
}
