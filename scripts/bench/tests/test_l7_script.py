"""scripts/l7.sh start: a bad option or syslog address is refused with a clear error before anything starts (no
cluster, no root needed: the checks come first)."""

import os
import subprocess
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "l7.sh")


def start(*args, env=None):
    with tempfile.TemporaryDirectory() as run_dir:
        environment = {k: v for k, v in os.environ.items() if k != "LAMEDUCK_L7_SYSLOG"}
        environment.update(LAMEDUCK_L7_DIR=os.path.join(run_dir, "l7"), **(env or {}))
        return subprocess.run(["bash", SCRIPT, "start", *args], capture_output=True, text=True, timeout=30,
                              env=environment)


class StartArgumentsTest(unittest.TestCase):
    def test_an_unknown_option_is_refused(self):
        done = start("l7-x", "10s", "18090", "--no-retry")
        self.assertEqual(1, done.returncode)
        self.assertIn("unknown option '--no-retry' (the only one is --no-redispatch)", done.stderr)

    def test_a_fifth_argument_is_the_usage(self):
        done = start("l7-x", "10s", "18090", "--no-redispatch", "extra")
        self.assertEqual(1, done.returncode)
        self.assertIn("usage: scripts/l7.sh start NAME WAIT PORT [--no-redispatch]", done.stderr)

    def test_a_syslog_address_that_is_not_ip_and_port_is_refused(self):
        for bad in ("localhost:5140", "127.0.0.1", "127.0.0.1:514000", "127.0.0.1:5140; rm -rf /"):
            with self.subTest(bad=bad):
                # with the one option there is: it is taken, and the address is what stops the start
                done = start("l7-x", "10s", "18090", "--no-redispatch", env={"LAMEDUCK_L7_SYSLOG": bad})
                self.assertEqual(1, done.returncode)
                self.assertIn(f"bad LAMEDUCK_L7_SYSLOG '{bad}'", done.stderr)


if __name__ == "__main__":
    unittest.main()
