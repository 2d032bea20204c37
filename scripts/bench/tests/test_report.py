"""report.py: the tables and the text of BENCHMARKS.md from a small synthetic run."""

import json
import os
import tempfile
import unittest
from unittest import mock

import report

NO_FAILURES = {"refused": 0, "reset": 0, "timeout": 0, "5xx": 0, "other": 0}


def attack(sent=100, **failures):
    return {"sent": sent, "failed": sum(failures.values()), "failures": {**NO_FAILURES, **failures},
            "examples": [], "failure_times": []}


def measured(consumer, scenario, label, termination, sleep=None, lameduck=False, requests=None, **extra):
    """A measured scenario on the fast plane: 3 terminations, no failures unless `requests` says so."""
    return {"plane": "fast", "consumer": consumer, "scenario": scenario, "label": label, "lameduck": lameduck,
            "sleep_seconds": sleep, "rollouts": 1, "rollout_seconds_median": 20.5, "terminations": 3,
            "requests": requests or {"keepalive": attack(), "no_keepalive": attack(), "post_keepalive": attack()},
            "failure_after_deletion_seconds": [], "termination_seconds": termination,
            "not_serving_seconds": [1.0, 1.5, None], "drain_seconds": [], "steps": {s: [] for s in report_steps()},
            "drain_outcomes": [], "ready_seconds": [], "ready_cpu_seconds": [], "footprint": None, "readyz": [],
            "pods": [], "drain_reports": [], **extra}


def report_steps():
    return ("withdraw", "propagate", "hooks")


META = {"date": "2026-12-05 10:00 UTC", "minutes": 3.5, "command": "scripts/bench.sh --quick",
        "machine": {"cpus": 2, "cpu_model": "Test CPU", "memory_gib": 23.0, "kernel": "6.1.0", "python": "3.11.7"},
        "versions": {"kubernetes": "v1.34.1", "containerd": "containerd 1.7.24", "vegeta": "vegeta",
                     "commit": "abc1234", "images": {"base": "base:1", "demo": "demo:2", "agent": "agent:3"}},
        "settings": {"rollouts": 1, "replicas": 3, "rate": 25, "slow_share": 0.1, "slow": "1500ms", "parallel": 4},
        "planes": {"fast": "1s"}, "consumers": {"clusterip": None, "l7-lagging": "10s"}}

LAMEDUCK_FOOTPRINT = {"idle": {"samples": 40, "memory_mib_median": 84.7, "memory_mib_max": 90.0,
                               "cpu_millicores_mean": 12.4},
                      "drain": {"samples": 12, "memory_mib_median": 91.0, "memory_mib_max": 93.5,
                                "cpu_millicores_mean": None}}


def run():
    """Through the ClusterIP: no preStop failing 4 requests, sleep 5 failing 1, sleep 10 none, Lameduck none, and
    one scenario that could not be measured; through the lagging L7 proxy: sleep 5 failing 2 and Lameduck none."""
    return [
        measured("clusterip", "no-prestop", "no preStop", [2.0, 2.5, 3.0], requests={
            "keepalive": attack(refused=3), "no_keepalive": attack(reset=1), "post_keepalive": attack()},
            failure_after_deletion_seconds=[[0.5, "refused"], [1.2, "refused"], [2.0, "reset"], [None, "refused"]]),
        measured("clusterip", "sleep-5", "preStop sleep 5", [6.0, 7.0, 8.0], sleep=5, requests={
            "keepalive": attack(), "no_keepalive": attack(), "post_keepalive": attack(**{"5xx": 1})}),
        measured("clusterip", "sleep-10", "preStop sleep 10", [11.0, 12.0, 13.0], sleep=10),
        measured("clusterip", "lameduck-readiness-gate", "Lameduck readiness-gate", [6.0, 8.0, 9.0], lameduck=True,
                 drain_seconds=[5.0, 6.0, 7.0],
                 steps={"withdraw": [1.0, 1.5, 2.0], "propagate": [3.0, 3.5, 4.0], "hooks": [None, None, None]},
                 ready_seconds=[4.0, 4.2, 5.0], ready_cpu_seconds=[1.6, 1.7, 1.9], footprint=LAMEDUCK_FOOTPRINT,
                 readyz=[{"requests": 150, "answered": 150, "seconds": 5.0, "codes": [200, 503],
                          "p50_ms": 2.0, "p99_ms": 9.5, "max_ms": 12.0},
                         {"requests": 120, "answered": 120, "seconds": 4.0, "codes": [503],
                          "p50_ms": 3.0, "p99_ms": 7.0, "max_ms": 30.0},
                         {"requests": 0}]),
        {"plane": "fast", "consumer": "clusterip", "scenario": "lameduck-label",
         "error": "Traceback (most recent call last):\n  File bench.py\nRuntimeError: rollout | stuck\n\n",
         "diagnostics": "docs/benchmarks/bench-diagnostics/b-fast-clusterip-lameduck-label.txt"},
        measured("l7-lagging", "sleep-5", "preStop sleep 5", [6.0, 6.5, 7.0], sleep=5, requests={
            "keepalive": attack(), "no_keepalive": attack(**{"5xx": 2}), "post_keepalive": attack()}),
        measured("l7-lagging", "lameduck-readiness-gate", "Lameduck readiness-gate", [7.0, 8.0, 8.5], lameduck=True,
                 ready_seconds=[3.0]),
    ]


class SmallPiecesTest(unittest.TestCase):
    def test_fmt(self):
        self.assertEqual("–", report.fmt(None, " s"))
        self.assertEqual("1.2 s", report.fmt(1.25, " s"))
        self.assertEqual("0.67", report.fmt(8 / 12, "", 2))
        self.assertEqual("12 millicores", report.fmt(12.4, " millicores", 0))

    def test_spread_is_median_and_p95_of_the_values_present(self):
        self.assertEqual("2.0 / 3.0 s", report.spread([3.0, None, 1.0, 2.0]))
        self.assertEqual("10.0 / 19.0 s", report.spread([float(v) for v in range(20, 0, -1)]))
        self.assertEqual("8.0 / 9.0", report.spread([6.0, 8.0, 9.0], ""))
        self.assertEqual("–", report.spread([None, None]))
        self.assertEqual("–", report.spread([]))

    def test_failures_by_class_over_the_attacks(self):
        self.assertEqual("3 refused, 1 reset, 2 5xx", report.failures(
            {"a": attack(refused=2, reset=1), "b": attack(refused=1, **{"5xx": 2})}))
        self.assertEqual("none", report.failures({"a": attack(), "b": attack()}))

    def test_when_failures_came_after_the_latest_deletion(self):
        self.assertEqual("1.2 [0.5–2.0]; 1 before any deletion",
                         report.when([(2.0, "reset"), (0.5, "refused"), (None, "refused"), (1.2, "refused")]))
        self.assertEqual("0.3 [0.3–0.3]", report.when([[0.3, "5xx"]]))  # as read back from benchmarks.json
        self.assertEqual("2 before any deletion", report.when([(None, "refused"), (None, "reset")]))
        self.assertEqual("–", report.when([]))

    def test_per_attack_in_the_order_of_the_columns(self):
        r = {"requests": {"post_keepalive": attack(sent=7, reset=2), "keepalive": attack(sent=9)}}
        self.assertEqual("9 / – / 7", report.per_attack(r, "sent"))
        self.assertEqual("0 / – / 2", report.per_attack(r, "failed"))

    def test_sleep_seconds_from_the_result_or_from_the_scenario_name_of_older_runs(self):
        self.assertEqual(10, report.sleep_seconds({"scenario": "sleep-10", "sleep_seconds": 10}))
        self.assertEqual(15, report.sleep_seconds({"scenario": "sleep-15"}))
        self.assertIsNone(report.sleep_seconds({"scenario": "no-prestop", "sleep_seconds": None}))
        self.assertIsNone(report.sleep_seconds({"scenario": "lameduck-label"}))


class ShortestSafeSleepTest(unittest.TestCase):
    def test_the_shortest_sleep_that_failed_nothing(self):
        rows = [r for r in run() if r.get("consumer") == "clusterip"]
        self.assertEqual("sleep-10", report.shortest_safe_sleep(rows)["scenario"])

    def test_none_when_every_sleep_failed_or_none_was_measured(self):
        rows = [r for r in run() if r.get("consumer") == "l7-lagging"]
        self.assertIsNone(report.shortest_safe_sleep(rows))
        self.assertIsNone(report.shortest_safe_sleep([r for r in rows if r.get("lameduck")]))

    def test_a_longer_safe_sleep_listed_first_does_not_win(self):
        rows = [measured("clusterip", "sleep-20", "preStop sleep 20", [21.0], sleep=20),
                measured("clusterip", "sleep-15", "preStop sleep 15", [16.0], sleep=15)]
        self.assertEqual("sleep-15", report.shortest_safe_sleep(rows)["scenario"])


class SleepVersusLameduckTest(unittest.TestCase):
    def test_each_lameduck_scenario_against_the_shortest_safe_sleep_per_consumer(self):
        lines = report.sleep_versus_lameduck(META, run())
        self.assertEqual("## Shortest safe sleep against Lameduck", lines[0])
        rows = [l for l in lines if l.startswith("| fast |")]
        self.assertEqual([
            # median termination 8.0 s: ÷ 10 s of sleep, ÷ the sleep's own median termination of 12.0 s
            "| fast | clusterip | 10 s | 12.0 s | Lameduck readiness-gate | 0 | 8.0 s | 0.80 | 0.67 |",
            "| fast | l7-lagging | none of 5 s | – | Lameduck readiness-gate | 0 | 8.0 s | – | – |",
        ], rows)
        self.assertEqual("", lines[-1])

    def test_a_consumer_without_lameduck_or_sleeps(self):
        results = [measured("clusterip", "sleep-5", "preStop sleep 5", [6.0, 7.0], sleep=5),
                   measured("l7-lagging", "lameduck-label", "Lameduck label", [9.0], lameduck=True)]
        rows = [l for l in report.sleep_versus_lameduck(META, results) if l.startswith("| fast |")]
        self.assertEqual(["| fast | clusterip | 5 s | 6.0 s | – | | | | |",
                          "| fast | l7-lagging | not measured | – | Lameduck label | 0 | 9.0 s | – | – |"], rows)

    def test_no_table_without_measured_scenarios(self):
        self.assertEqual([], report.sleep_versus_lameduck(META, [r for r in run() if "error" in r]))


class TrafficLimitTest(unittest.TestCase):
    """The last request each drain saw after its pod's deletion, plus the slowest request, against the termination."""

    @staticmethod
    def leaving(reports, pods):
        return measured("clusterip", "lameduck-leave-early", "Lameduck, app leaves at the trigger", [p[1] for p in pods],
                        lameduck=True, drain_reports=reports,
                        pods=[{"name": f"p{i}", "deleted_at": d, "gone_at": None, "termination_seconds": t,
                               "not_serving_seconds": 1.0} for i, (d, t) in enumerate(pods)])

    def test_a_pod_that_names_its_report_gets_that_one_whatever_the_times(self):
        r = self.leaving([{"id": "drain-a", "startedAt": "2026-12-06T00:00:00.200Z", "traffic": {"lastRequestAt": "2026-12-06T00:00:02Z"}},
                          {"id": "drain-b", "startedAt": "2026-12-06T00:00:00.300Z", "traffic": {"lastRequestAt": "2026-12-06T00:00:04Z"}},
                          {"id": "drain-c", "startedAt": "2026-12-06T00:00:20Z", "traffic": {}}],
                         [(1796515200.0, 5.0), (1796515200.1, 6.0), (1796515219.0, 2.0), (1796515230.0, 3.0)])
        # two pods deleted 0.1 s apart, the first one's report the later one: by time they would be swapped
        for pod, drain in zip(r["pods"], ["drain-b", "drain-a", "drain-c", None]):
            pod["drain_report"] = drain
        # drain-c saw no request; the last pod has no report (no agent log): neither counts
        self.assertEqual([(4.0, 5.0), (1.9, 6.0)], [(round(lag, 3), term) for lag, term in report.last_requests(r)])

    def test_the_table_row(self):
        # 2026-12-06T00:00:00Z is 1796515200
        r = self.leaving([{"id": "d0", "startedAt": "2026-12-06T00:00:00.200Z", "traffic": {"lastRequestAt": "2026-12-06T00:00:02Z"}},
                          {"id": "d1", "startedAt": "2026-12-06T00:00:10.100Z", "traffic": {"lastRequestAt": "2026-12-06T00:00:13Z"}},
                          {"id": "d2", "startedAt": "2026-12-06T00:00:20Z", "traffic": {"lastRequestAt": "2026-12-06T00:00:21Z"}}],
                         [(1796515200.0, 5.0), (1796515210.0, 4.6), (1796515220.0, 3.9)])
        for i, pod in enumerate(r["pods"]):
            pod["drain_report"] = f"d{i}"
        lines = report.traffic_limit(META, [r])
        self.assertEqual("## The limit the traffic sets", lines[0])
        # each pod against its own limit: 1.5, 0.1 and 1.4 s over it (not the medians' difference, 4.6 - 3.5)
        self.assertIn("| fast | clusterip | Lameduck, app leaves at the trigger | 3 | 2.0 s | 3.0 s | 3.5 s | 4.6 s | 1.4 s |",
                      lines)

    def test_slow_requests_of_the_run(self):
        self.assertEqual(1.5, report.duration_seconds("1500ms"))
        self.assertEqual(2.0, report.duration_seconds("2s"))

    def test_no_section_without_reports(self):
        self.assertEqual([], report.traffic_limit(META, run()))


class AgentSectionTest(unittest.TestCase):
    def test_time_and_cpu_to_ready_footprint_and_readyz_during_drains(self):
        lines = report.agent_section(run())
        self.assertIn("- Time to READY in the pod (JVM start to READY, from the agent's log line, 4 pods): "
                      "median 4.00 s, p95 5.00 s.", lines)
        self.assertIn("- CPU spent from process start to READY in the pod (user + system, from the same log line, 3 "
                      "pods): median 1.70 CPU-seconds, p95 1.90 CPU-seconds.", lines)
        self.assertIn("  - idle: memory median 84.7 MiB, max 90.0 MiB; CPU 12 millicores (40 samples)", lines)
        self.assertIn("  - drain: memory median 91.0 MiB, max 93.5 MiB; CPU – (12 samples)", lines)
        self.assertIn("- `/readyz` at 100 requests/s (vegeta, constant rate, no keep-alive, like the kubelet) during 2 "
                      "drains, from the deletion to the drain's end: 270 of 270 answered (codes [200, 503]), p50 "
                      "2.00 ms, p99 9.50 ms (worst drain), max 30.00 ms.", lines)

    def test_a_drain_where_readyz_answered_nothing_counts(self):
        results = run()
        results[3]["readyz"].append({"requests": 50, "answered": 0, "seconds": 3.0, "codes": [0],
                                     "p50_ms": None, "p99_ms": None, "max_ms": None})
        readyz = [l for l in report.agent_section(results) if l.startswith("- `/readyz`")]
        self.assertEqual(["- `/readyz` at 100 requests/s (vegeta, constant rate, no keep-alive, like the kubelet) "
                          "during 3 drains, from the deletion to the drain's end: 270 of 320 answered (codes [0, 200, "
                          "503]), p50 2.00 ms, p99 9.50 ms (worst drain), max 30.00 ms."], readyz)
        results[3]["readyz"] = results[3]["readyz"][-1:]
        readyz = [l for l in report.agent_section(results) if l.startswith("- `/readyz`")]
        self.assertEqual(["- `/readyz` at 100 requests/s (vegeta, constant rate, no keep-alive, like the kubelet) "
                          "during 1 drains, from the deletion to the drain's end: 0 of 50 answered (codes [0])."],
                         readyz)

    def test_the_first_unanswered_request_of_each_drain_is_shown(self):
        results = run()
        results[3]["readyz"].append({"requests": 50, "answered": 45, "seconds": 3.0, "codes": [0, 503],
                                     "p50_ms": 2.0, "p99_ms": 4.0, "max_ms": 5.0,
                                     "unanswered": ["2.40 s after the deletion: 0 connection refused", "2.41 s after "
                                                    "the deletion: 0 connection refused"]})
        lines = report.agent_section(results)
        self.assertIn("  - not answered, the first of each such drain: 2.40 s after the deletion: 0 connection refused "
                      "(5 of 50 not answered in that drain).", lines)

    def test_without_lameduck_results(self):
        self.assertEqual(["## The agent itself", "", "- Time to READY in the pod (JVM start to READY, from the "
                          "agent's log line, 0 pods): median –, p95 –.", ""], report.agent_section(run()[:3]))


class MarkdownTest(unittest.TestCase):
    """Key lines of BENCHMARKS.md for the synthetic run, not a snapshot of all of it."""

    @classmethod
    def setUpClass(cls):
        cls.text = report.markdown(META, run())
        cls.lines = cls.text.splitlines()

    def assertLine(self, line):
        self.assertIn(line, self.lines)

    def test_the_set_up(self):
        self.assertEqual("# Benchmarks: rollouts under load on a real node", self.lines[0])
        self.assertLine("Written by `scripts/bench.sh --quick` on 2026-12-05 10:00 UTC (3.5 min). Do not edit by hand: "
                        "run it again.")
        self.assertLine("- Machine: 2 CPUs (Test CPU), 23.0 GiB, Linux 6.1.0.")
        self.assertLine("- Images, built locally: `agent:3`, `demo:2`.")
        self.assertLine("- Data planes: fast: kube-proxy `--iptables-min-sync-period=1s`. A slow data plane stands for "
                        "large clusters, ingress controllers and cloud load balancers that apply endpoint changes late "
                        "(it matters to the ClusterIP consumer only: the L7 proxy sends to the pod IPs).")
        self.assertIn("10% of the requests are slow (1500ms)", self.text)
        self.assertIn("`l7-lagging`: HAProxy Ingress (`scripts/l7.sh`, haproxy 2.6) at the pod IPs with pooled keep-alive "
                      "connections, endpoint changes applied 10s after the first change of a batch", self.text)
        self.assertIn("and resends a refused connection's request to another pod;", self.text)

    def test_a_proxy_that_does_not_resend_says_so(self):
        text = report.markdown({**META, "no_redispatch": ["l7-lagging"]}, run())
        self.assertIn("which this one does not (`no option redispatch`", text)
        self.assertNotIn("and resends a refused connection's request to another pod;", text)

    def test_a_section_per_plane_and_consumer_in_order(self):
        sections = [l for l in self.lines if l.startswith("## ")]
        self.assertEqual(["## Set-up", "## Goals", "## Shortest safe sleep against Lameduck",
                          "## Fast data plane (kube-proxy sync at most every 1s), through the ClusterIP (kube-proxy)",
                          "## Fast data plane (kube-proxy sync at most every 1s), through the L7 proxy lagging "
                          "(HAProxy Ingress applying endpoint changes 10 s late)",
                          "## The agent itself", "## What the numbers mean"], sections)

    def test_failed_requests_per_attack_by_class_and_after_the_deletion(self):
        self.assertLine("| no preStop | 3 | 100 / 100 / 100 | **3 / 1 / 0** | 3 refused, 1 reset | "
                        "1.2 [0.5–2.0]; 1 before any deletion |")
        self.assertLine("| preStop sleep 5 | 3 | 100 / 100 / 100 | **0 / 0 / 1** | 1 5xx | – |")
        self.assertLine("| Lameduck readiness-gate | 3 | 100 / 100 / 100 | **0 / 0 / 0** | none | – |")
        self.assertLine("| preStop sleep 5 | 3 | 100 / 100 / 100 | **0 / 2 / 0** | 2 5xx | – |")

    def test_a_scenario_not_measured_says_why_and_where_to_look(self):
        self.assertLine("| lameduck-label | not measured: RuntimeError: rollout / stuck (see "
                        "`docs/benchmarks/bench-diagnostics/b-fast-clusterip-lameduck-label.txt`) | | | | |")
        self.assertEqual(1, self.text.count("| lameduck-label |"))  # in no other table

    def test_times_median_and_p95(self):
        self.assertLine("| Lameduck readiness-gate | 8.0 / 9.0 | 1.0 / 1.5 | 6.0 / 7.0 | 1.5 / 2.0 | 3.5 / 4.0 | – | "
                        "20.5 |")
        self.assertLine("| preStop sleep 10 | 12.0 / 13.0 | 1.0 / 1.5 | – | – | – | – | 20.5 |")

    def test_what_the_numbers_mean(self):
        self.assertLine("- On the fast data plane, through the ClusterIP (kube-proxy): no preStop failed 4 of 300 "
                        "requests with a median termination of 2.5 s; preStop sleep 5 failed 1 of 300 requests with a "
                        "median termination of 7.0 s; preStop sleep 10 failed 0 of 300 requests with a median "
                        "termination of 12.0 s; Lameduck readiness-gate failed 0 of 300 requests with a median "
                        "termination of 8.0 s.")
        self.assertTrue(any(l.startswith("Lameduck failed no request in any scenario") for l in self.lines))
        self.assertLine("On the fast data plane, clusterip, the shortest fixed sleep that failed nothing here was 10 s "
                        "(median termination 12.0 s).")
        self.assertLine("On the fast data plane, l7-lagging, every fixed sleep measured here failed some requests.")
        self.assertIn("The longest p95 termination with Lameduck here was 9.0 s (Lameduck readiness-gate, fast, "
                      "clusterip)", self.text)

    def test_lameduck_failing_a_request_is_called_a_bug(self):
        results = run()
        results[-1]["requests"]["post_keepalive"] = attack(reset=1)
        text = report.markdown(META, results)
        self.assertIn("Lameduck failed requests in some scenario — a bug to fix, not a number to accept", text)
        self.assertNotIn("Lameduck failed no request", text)

    def test_results_of_runs_before_consumers_existed(self):
        meta = {k: v for k, v in META.items() if k != "consumers"}
        old = [{k: v for k, v in r.items() if k != "consumer"} for r in run() if r.get("consumer") == "clusterip"]
        lines = report.markdown(meta, old).splitlines()
        self.assertIn("## Fast data plane (kube-proxy sync at most every 1s), through the ClusterIP (kube-proxy)", lines)
        self.assertIn("| fast | clusterip | 10 s | 12.0 s | Lameduck readiness-gate | 0 | 8.0 s | 0.80 | 0.67 |", lines)


class WriteTest(unittest.TestCase):
    def test_writes_the_raw_results_the_chart_and_the_markdown(self):
        with tempfile.TemporaryDirectory() as out, mock.patch.object(report, "chart") as chart:
            path = report.write(out, META, run())
            self.assertEqual(os.path.join(out, "BENCHMARKS.md"), path)
            with open(path) as f:
                self.assertEqual(report.markdown(META, run()), f.read())
            with open(os.path.join(out, "benchmarks.json")) as f:
                raw = json.load(f)
            self.assertEqual(META, raw["meta"])
            self.assertEqual(7, len(raw["results"]))
            # the chart gets the measured results only
            chart_path, charted, _ = chart.call_args.args
            self.assertEqual(os.path.join(out, "benchmarks.png"), chart_path)
            self.assertEqual(6, len(charted))
            # the report reads its own raw results back the same
            self.assertEqual(report.markdown(META, run()), report.markdown(raw["meta"], raw["results"]))

    def test_a_report_rendered_again_says_so(self):
        with tempfile.TemporaryDirectory() as out, mock.patch.object(report, "chart"):
            path = report.write(out, META, run(), "by `scripts/bench.sh --report-only x` on 2026-12-07 10:00 UTC")
            with open(path) as f:
                header = f.read().splitlines()[2]
        self.assertEqual("Written by `scripts/bench.sh --quick` on 2026-12-05 10:00 UTC (3.5 min). This report was "
                         "rendered again from that run's `benchmarks.json` by `scripts/bench.sh --report-only x` on "
                         "2026-12-07 10:00 UTC: the same measurements. Do not edit by hand: run it again.", header)


if __name__ == "__main__":
    unittest.main()
