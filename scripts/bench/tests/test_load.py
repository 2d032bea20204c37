"""load.py: classifying vegeta's results and summarizing an attack."""

import unittest

import load
import measure


def result(code, error="", timestamp="2026-12-05T10:00:00Z"):
    return {"timestamp": timestamp, "latency": 1_500_000, "code": code, "error": error}


class FailureClassTest(unittest.TestCase):
    def test_an_answer_2xx_or_3xx_without_error_is_no_failure(self):
        self.assertIsNone(load.failure_class(200, ""))
        self.assertIsNone(load.failure_class(204, ""))
        self.assertIsNone(load.failure_class(302, ""))

    def test_vegeta_errors_are_classified_by_their_text(self):
        cases = {
            'Get "http://10.96.0.10:8080/": dial tcp 10.96.0.10:8080: connect: connection refused': "refused",
            'Post "http://10.96.0.10:8080/": read tcp 10.200.0.2:41234->10.244.0.7:8080: read: connection reset by peer': "reset",
            'Post "http://10.96.0.10:8080/": write: broken pipe': "reset",
            'Get "http://10.96.0.10:8080/": EOF': "reset",
            'Get "http://10.96.0.10:8080/": net/http: request canceled (Client.Timeout exceeded while awaiting headers)': "timeout",
            'Get "http://10.96.0.10:8080/": context deadline exceeded': "timeout",
        }
        for error, kind in cases.items():
            with self.subTest(error=error):
                self.assertEqual(kind, load.failure_class(0, error))

    def test_an_answer_5xx_is_5xx_and_other_codes_are_other(self):
        self.assertEqual("5xx", load.failure_class(503, "503 Service Unavailable"))
        self.assertEqual("5xx", load.failure_class(502, "502 Bad Gateway"))
        self.assertEqual("5xx", load.failure_class(500, ""))
        self.assertEqual("other", load.failure_class(404, "404 Not Found"))
        self.assertEqual("other", load.failure_class(0, "something vegeta did not expect"))

    def test_a_success_code_with_an_error_is_a_failure(self):
        self.assertEqual("reset", load.failure_class(200, "unexpected EOF"))

    def test_the_text_decides_before_the_code_as_in_the_node_tests(self):
        # Load.kind (src/test/java/io/lameduck/node/Load.java) reads the error first: a proxy's 504 counts as a
        # timeout, not as 5xx.
        self.assertEqual("timeout", load.failure_class(504, "504 Gateway Timeout"))


class SummarizeTest(unittest.TestCase):
    def test_counts_every_request_and_each_failure_by_class_with_its_time(self):
        results = [
            result(200),
            result(0, "dial tcp: connect: connection refused", "2026-12-05T10:00:01.5Z"),
            result(503, "503 Service Unavailable", "2026-12-05T10:00:02Z"),
            result(200),
            result(0, "read: connection reset by peer", "2026-12-05T10:00:03.25Z"),
            result(0, "dial tcp: connect: connection refused", "2026-12-05T10:00:04Z"),
        ]
        summary = load.summarize(results, measure.instant)
        at = measure.instant("2026-12-05T10:00:00Z")
        self.assertEqual(6, summary["sent"])
        self.assertEqual(4, summary["failed"])
        self.assertEqual({"refused": 2, "reset": 1, "timeout": 0, "5xx": 1, "other": 0}, summary["failures"])
        self.assertEqual(["refused: 0 dial tcp: connect: connection refused", "5xx: 503 503 Service Unavailable",
                          "reset: 0 read: connection reset by peer"], summary["examples"])
        self.assertEqual([(at + 1.5, "refused"), (at + 2, "5xx"), (at + 3.25, "reset"), (at + 4, "refused")],
                         summary["failure_times"])

    def test_keeps_at_most_a_thousand_failure_times_but_counts_all(self):
        results = [result(0, "connection refused")] * 1005
        summary = load.summarize(results, measure.instant)
        self.assertEqual(1005, summary["failed"])
        self.assertEqual(1000, len(summary["failure_times"]))
        self.assertEqual(3, len(summary["examples"]))

    def test_no_requests(self):
        summary = load.summarize([], measure.instant)
        self.assertEqual((0, 0, []), (summary["sent"], summary["failed"], summary["failure_times"]))


if __name__ == "__main__":
    unittest.main()
