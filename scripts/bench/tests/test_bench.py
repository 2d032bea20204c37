"""bench.py: what it computes from a scenario's observations (failures after the latest deletion, /readyz during a
drain), the order of the runs and its arguments."""

import contextlib
import io
import json
import os
import tempfile
import unittest
from unittest import mock

import bench
import measure
import report
from kube import PodTrack
from tests import test_report

T0 = measure.instant("2026-12-05T10:00:00Z")


def deleted_at(name, wall):
    return PodTrack(name, "uid-" + name, 0.0, deleted=1.0, deleted_wall=wall)


class AfterDeletionTest(unittest.TestCase):
    def test_each_failure_against_the_latest_deletion_before_it(self):
        pods = [deleted_at("c", T0 + 30.0), deleted_at("a", T0 + 10.0), deleted_at("b", T0 + 20.0)]
        results = {
            "keepalive": {"failure_times": [(T0 + 10.5, "refused"), (T0 + 31.25, "reset")]},
            "no_keepalive": {"failure_times": [(T0 + 5.0, "refused"), (T0 + 20.0, "5xx")]},
            "post_keepalive": {"failure_times": []},
        }
        self.assertEqual([(0.5, "refused"), (1.25, "reset"), (None, "refused"), (0.0, "5xx")],
                         bench.after_deletion(results, pods))

    def test_pods_never_deleted_do_not_count(self):
        pods = [PodTrack("new", "u", 0.0), deleted_at("old", T0 + 10.0)]
        self.assertEqual([(2.0, "timeout")],
                         bench.after_deletion({"keepalive": {"failure_times": [(T0 + 12.0, "timeout")]}}, pods))

    def test_a_failure_without_a_time_has_no_offset(self):
        self.assertEqual([(None, "other")],
                         bench.after_deletion({"keepalive": {"failure_times": [(None, "other")]}},
                                              [deleted_at("a", T0)]))


def readyz(second, code, latency_ms, error=""):
    return {"timestamp": f"2026-12-05T10:00:{second:06.3f}Z", "code": code, "latency": int(latency_ms * 1e6),
            "error": error}


class ReadyzWindowTest(unittest.TestCase):
    def test_latencies_of_the_requests_from_the_deletion_to_the_drains_end(self):
        results = [readyz(0.5, 200, 100.0),  # before the deletion
                   readyz(1.0, 200, 1.0), readyz(2.0, 503, 3.0),
                   readyz(3.0, 0, 0.0, "Get \"http://10.244.0.9:7979/readyz\": dial tcp: connect: connection refused"),
                   readyz(4.0, 503, 2.0),
                   readyz(6.0, 503, 100.0)]  # after the drain's end
        window = bench.readyz_window(results, deleted_at("a", T0 + 1.0), {"finishedAt": "2026-12-05T10:00:05Z"})
        self.assertEqual({"requests": 4, "answered": 3, "seconds": 4.0, "codes": [0, 200, 503],
                          "p50_ms": 2.0, "p99_ms": 3.0, "max_ms": 3.0,
                          "unanswered": ["2.00 s after the deletion: 0 Get \"http://10.244.0.9:7979/readyz\": dial tcp: connect: connection refused"]},
                         window)

    def test_no_window_without_a_deletion_or_a_drain_report(self):
        self.assertEqual({"requests": 0}, bench.readyz_window([readyz(1.0, 200, 1.0)], PodTrack("a", "u", 0.0),
                                                              {"finishedAt": "2026-12-05T10:00:05Z"}))
        self.assertEqual({"requests": 0}, bench.readyz_window([readyz(1.0, 200, 1.0)], deleted_at("a", T0), None))


class ReadyzEvidenceTest(unittest.TestCase):
    def test_keeps_the_requests_of_the_drain_and_the_agent_log(self):
        with tempfile.TemporaryDirectory() as out:
            log_path = os.path.join(out, "agent.log")
            with open(log_path, "w") as f:
                f.write('{"msg":"drain drain-1 started by pod-deletion"}\n')
            results = [readyz(0.5, 200, 1.0),  # before the deletion: left out
                       readyz(2.0, 503, 3.0),
                       readyz(3.0, 0, 0.0, "dial tcp: connect: connection refused"),
                       readyz(9.0, 503, 1.0)]  # long after the drain's end: left out
            path = bench.keep_readyz_evidence(out, "b-fast", deleted_at("pod-a", T0 + 1.0), results,
                                              {"id": "drain-1", "startedAt": "2026-12-05T10:00:01.2Z",
                                               "finishedAt": "2026-12-05T10:00:05Z"}, log_path)

            self.assertEqual(os.path.join(out, "bench-diagnostics", "b-fast.pod-a.readyz.txt"), path)
            with open(path) as f:
                text = f.read()
            self.assertIn("   1.000: 503 3.0", text)
            self.assertIn("   2.000: 0 0.0 dial tcp: connect: connection refused", text)
            self.assertNotIn("-0.500", text)
            self.assertNotIn("   8.000", text)
            self.assertIn("drain drain-1 started by pod-deletion", text)

    def test_says_when_the_agent_log_is_missing(self):
        with tempfile.TemporaryDirectory() as out:
            path = bench.keep_readyz_evidence(out, "b-fast", deleted_at("pod-a", T0), [], None, os.path.join(out, "none.log"))
            with open(path) as f:
                self.assertIn("cannot read", f.read())


class RunsTest(unittest.TestCase):
    def test_lameduck_scenarios_alternate_with_the_baselines(self):
        runs = [("clusterip", "no-prestop"), ("clusterip", "sleep-5"), ("clusterip", "lameduck-label"),
                ("l7", "lameduck-probe"), ("l7", "sleep-10"), ("clusterip", "lameduck-native")]
        self.assertEqual([("clusterip", "lameduck-label"), ("clusterip", "no-prestop"), ("l7", "lameduck-probe"),
                          ("clusterip", "sleep-5"), ("clusterip", "lameduck-native"), ("l7", "sleep-10")],
                         bench.interleaved(runs))

    def test_quick_runs_and_the_l7_consumers_on_the_first_plane_only(self):
        args = bench.arguments(["--quick"])
        self.assertEqual(bench.QUICK_RUNS, args.runs)
        self.assertEqual((1, ["fast"], "target/bench-quick"), (args.rollouts, args.planes, args.out))
        args = bench.arguments(["--scenarios", "sleep-5", "--consumers", "clusterip,l7"])
        self.assertEqual(["fast", "slow"], args.planes)
        self.assertEqual([("clusterip", "sleep-5"), ("l7", "sleep-5")], bench.runs_on(args, "fast"))
        self.assertEqual([("clusterip", "sleep-5")], bench.runs_on(args, "slow"))

    def test_report_only_renders_an_earlier_runs_results_again(self):
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "benchmarks.json"), "w") as f:
                json.dump({"meta": test_report.META, "results": test_report.run()}, f)
            with mock.patch.object(report, "chart"), contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(0, bench.main(["--report-only", out, "--rollouts", "3"]))
            with open(os.path.join(out, "BENCHMARKS.md")) as f:
                text = f.read()
        self.assertIn("This report was rendered again from that run's `benchmarks.json` by `scripts/bench.sh "
                      f"--report-only {out}` on ", text)
        self.assertIn("## Goals", text)

    def test_report_only_without_an_earlier_run_exits_3(self):
        with tempfile.TemporaryDirectory() as out:
            with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as exited:
                bench.arguments(["--report-only", out])
            self.assertEqual(3, exited.exception.code)
            self.assertIn("give the --out directory of an earlier run", err.getvalue())
            for raw in ("{not json", "[]", '{"meta": {}, "results": []}', '{"meta": {"date": 1}, "results": [{"plane": "fast"}]}'):
                with self.subTest(raw=raw):
                    with open(os.path.join(out, "benchmarks.json"), "w") as f:
                        f.write(raw)
                    with contextlib.redirect_stderr(io.StringIO()):
                        self.assertEqual(3, bench.main(["--report-only", out]))
                    self.assertFalse(os.path.exists(os.path.join(out, "BENCHMARKS.md")))

    def test_report_only_refuses_raw_results_past_their_bound(self):
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "benchmarks.json"), "w") as f:
                json.dump({"meta": test_report.META, "results": test_report.run()}, f)
            with mock.patch.object(bench, "MAX_RAW_BYTES", 100), mock.patch.object(report, "chart"), \
                    contextlib.redirect_stderr(io.StringIO()) as err:
                self.assertEqual(3, bench.main(["--report-only", out]))
            self.assertIn("more than the 100 a run's results take", err.getvalue())
            self.assertFalse(os.path.exists(os.path.join(out, "BENCHMARKS.md")))

    def test_bad_arguments_exit_3(self):
        for argv in (["--rate", "0"], ["--scenarios", "sleep-7"], ["--slow", "2 minutes"], ["--replicas", "x"]):
            with self.subTest(argv=argv), contextlib.redirect_stderr(io.StringIO()):
                with self.assertRaises(SystemExit) as exited:
                    bench.arguments(argv)
                self.assertEqual(3, exited.exception.code)


if __name__ == "__main__":
    unittest.main()
