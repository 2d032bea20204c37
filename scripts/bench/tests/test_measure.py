"""measure.py: statistics, instants, the agent's log (drain report, time and CPU to READY), cgroup samples."""

import os
import tempfile
import unittest
from datetime import datetime, timezone

import measure
from measure import Sample

MIB = 2**20


class PercentileTest(unittest.TestCase):
    def test_nearest_rank(self):
        values = [float(v) for v in range(1, 21)]  # 1..20
        self.assertEqual(10.0, measure.percentile(values, 50))
        self.assertEqual(19.0, measure.percentile(values, 95))
        self.assertEqual(20.0, measure.percentile(values, 99))
        self.assertEqual(20.0, measure.percentile(values, 100))
        self.assertEqual(1.0, measure.percentile(values, 0))

    def test_ignores_missing_values_and_order(self):
        self.assertEqual(3.0, measure.percentile([None, 5.0, 1.0, None, 3.0], 50))
        self.assertEqual(5.0, measure.percentile([None, 5.0, 1.0, 3.0], 95))

    def test_none_without_values(self):
        self.assertIsNone(measure.percentile([], 50))
        self.assertIsNone(measure.percentile([None, None], 95))

    def test_median_of_an_even_count_is_the_lower_middle(self):
        self.assertEqual(2.0, measure.median([4.0, 1.0, 3.0, 2.0]))
        self.assertEqual(7.5, measure.median([7.5]))


class InstantTest(unittest.TestCase):
    TEN = datetime(2026, 12, 5, 10, 0, 0, tzinfo=timezone.utc).timestamp()

    def test_utc_with_and_without_a_fraction(self):
        self.assertEqual(self.TEN, measure.instant("2026-12-05T10:00:00Z"))
        self.assertAlmostEqual(self.TEN + 0.5, measure.instant("2026-12-05T10:00:00.5Z"), places=9)

    def test_vegeta_nanoseconds_and_an_offset(self):
        self.assertAlmostEqual(self.TEN + 0.123456789, measure.instant("2026-12-05T11:00:00.123456789+01:00"), places=6)

    def test_none_for_absent_or_other_text(self):
        for text in (None, "", "2026-12-05 10:00:00", "yesterday", "2026-12-05T10:00:00"):
            with self.subTest(text=text):
                self.assertIsNone(measure.instant(text))


AGENT_LOG = "\n".join([
    "Picked up JAVA_TOOL_OPTIONS: -Xss256k",
    '{"level":"INFO","msg":"starting"}',
    '{"level":"INFO","msg":"READY 3.9 s after the JVM started"}',
    '{broken json',
    '{"level":"INFO","msg":"READY 4.125 s after the JVM started, 1.65 CPU-seconds"}',
    '{"level":"INFO","logger":"io.lameduck.drain","msg":"drain COMPLETED",'
    '"drainReport":{"outcome":"COMPLETED","durationSeconds":7.5,"finishedAt":"2026-12-05T10:00:07.5Z",'
    '"steps":[{"name":"unready","durationSeconds":0.0},{"name":"withdraw","durationSeconds":1.25},'
    '{"name":"propagate","durationSeconds":3.5},{"name":"hooks","durationSeconds":null}]}}',
    '{"level":"INFO","msg":"stopped"}',
]) + "\n"


class AgentLogTest(unittest.TestCase):
    def parse(self, text):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "agent.log")
            with open(path, "w") as f:
                f.write(text)
            return measure.parse_agent_log(path)

    def test_the_drain_report_and_the_last_ready_line(self):
        report, ready, cpu = self.parse(AGENT_LOG)
        self.assertEqual("COMPLETED", report["outcome"])
        self.assertEqual(7.5, report["durationSeconds"])
        self.assertEqual(4.125, ready)
        self.assertEqual(1.65, cpu)

    def test_a_ready_line_without_cpu(self):
        summary = self.parse('{"msg":"READY 0.8 s after the JVM started"}\n')
        self.assertEqual((None, 0.8, None), tuple(summary))
        self.assertEqual(0.8, summary.ready_seconds)

    def test_a_log_without_json_says_nothing(self):
        self.assertEqual((None, None, None), tuple(self.parse("plain text\n{not json\n")))

    def test_step_seconds_from_the_drain_report(self):
        report = self.parse(AGENT_LOG).report
        self.assertEqual(1.25, measure.step_seconds(report, "withdraw"))
        self.assertEqual(3.5, measure.step_seconds(report, "propagate"))
        self.assertIsNone(measure.step_seconds(report, "hooks"))  # null in the report
        self.assertIsNone(measure.step_seconds(report, "restart"))  # not in the report
        self.assertIsNone(measure.step_seconds({}, "withdraw"))


class CgroupSummaryTest(unittest.TestCase):
    def sampler(self, samples):
        sampler = measure.CgroupSampler(watch=None, period=0.5)  # never started: summary() reads samples only
        sampler.samples = samples
        return sampler

    def test_memory_median_and_max_and_cpu_over_consecutive_samples_per_phase(self):
        summary = self.sampler([
            Sample(10.0, "a", "idle", 80 * MIB, 1_000_000_000),
            Sample(10.5, "a", "idle", 82 * MIB, 1_010_000_000),
            Sample(10.2, "b", "idle", 84 * MIB, 5_000_000_000),
            Sample(11.0, "a", "idle", 90 * MIB, 1_020_000_000),
            Sample(10.7, "b", "idle", 86 * MIB, 5_020_000_000),
            # 9 s after container a's previous sample: a gap, not CPU of this phase
            Sample(20.0, "a", "idle", 88 * MIB, 9_000_000_000),
            Sample(30.0, "a", "drain", 95 * MIB, 9_500_000_000),
        ]).summary()
        self.assertEqual(["idle", "drain"], list(summary))
        idle = summary["idle"]
        self.assertEqual(6, idle["samples"])
        self.assertEqual(84.0, idle["memory_mib_median"])  # of 80, 82, 84, 86, 88, 90
        self.assertEqual(90.0, idle["memory_mib_max"])
        # a: 0.02 CPU-s in 1.0 s; b: 0.02 CPU-s in 0.5 s -> 0.04 / 1.5 s
        self.assertAlmostEqual(1000 * 0.04 / 1.5, idle["cpu_millicores_mean"], places=6)

    def test_one_sample_has_memory_but_no_cpu_rate(self):
        drain = self.sampler([Sample(30.0, "a", "drain", 95 * MIB, 9_500_000_000)]).summary()["drain"]
        self.assertEqual({"samples": 1, "memory_mib_median": 95.0, "memory_mib_max": 95.0, "cpu_millicores_mean": None},
                         drain)

    def test_no_samples_no_phases(self):
        self.assertEqual({}, self.sampler([]).summary())


class CgroupStatFileTest(unittest.TestCase):
    def test_integer_values_by_key(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "memory.stat")
            with open(path, "w") as f:
                f.write("anon 1024\ninactive_file 4096\nsome_ratio 0.5\nnegative -3\nempty\n")
            self.assertEqual({"anon": 1024, "inactive_file": 4096, "negative": -3}, measure._kv(path))


if __name__ == "__main__":
    unittest.main()
