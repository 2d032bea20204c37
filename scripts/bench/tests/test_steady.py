"""steady.py: the idle agents' figures as BENCHMARKS.md states them."""

import unittest

import report
import steady

IDLE = {"pods": 3, "after_ready_seconds": 120.0, "window_seconds": 60.2, "cpu_millicores": [4.25, 3.1, 6.0],
        "memory_mib": [47.5, 48.0, 49.25], "log_lines": [0, 1, 0], "startup_log_lines": [14, 14, 14], "scrapes": 21}


class SteadyIdleTest(unittest.TestCase):
    def test_lines_a_day_from_a_window(self):
        self.assertEqual(1440.0, steady.lines_per_day(1, 60))
        self.assertEqual(0.0, steady.lines_per_day(0, 60))

    def test_millicores_from_cgroup_nanoseconds(self):
        self.assertAlmostEqual(5.0, steady.millicores(300_000_000, 60))

    def test_span_of_per_pod_values(self):
        self.assertEqual("3.1–6.0 ms", steady.span([4.25, 3.1, 6.0], " ms", 1))
        self.assertEqual("14 lines", steady.span([14.0, 14.0], " lines", 0))
        self.assertEqual("–", steady.span([], " lines", 0))

    def test_summary_states_the_setting_and_each_figure(self):
        self.assertEqual([
            "- Idle agents, steady state (3 pods of the chart's example alone on the quiet node after the scenarios, "
            "probed by the kubelet as the chart configures, `/metrics` scraped every 30 s (21 scrapes answered), no "
            "load; from 120 s after the last turned `Ready`, over 60 s; per pod, min–max):",
            "  - CPU 3.1–6.0 millicores (cgroup); working set 47.5–49.2 MiB (median of samples every second)",
            "  - log: 0–1 lines in the window, i.e. 0–1435 lines a day; 14 lines from the start to the window"],
            steady.summary_lines(IDLE))

    def test_nothing_when_not_measured(self):
        self.assertEqual([], steady.summary_lines(None))

    def test_the_agent_section_ends_with_them(self):
        lines = report.agent_section([], IDLE)
        self.assertEqual(steady.summary_lines(IDLE), lines[-4:-1])
        self.assertEqual("", lines[-1])


if __name__ == "__main__":
    unittest.main()
