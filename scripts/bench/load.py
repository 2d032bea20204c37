"""Open-loop constant-rate HTTP load with vegeta from inside the node's network namespace: no retries, every
result kept, every failure classified (refused, reset, timeout, 5xx, other)."""

import json
import os
import signal
import subprocess
import tempfile

NETNS = "/var/run/netns/lameduck-kube"
CLASSES = ("refused", "reset", "timeout", "5xx", "other")


def failure_class(code, error):
    """None for a success; otherwise the class of the failure (as the node tests' Load.kind does)."""
    if 200 <= code < 400 and not error:
        return None
    e = error.lower()
    if "refused" in e:
        return "refused"
    if "reset" in e or "broken pipe" in e or "eof" in e:
        return "reset"
    if "timeout" in e or "deadline exceeded" in e:
        return "timeout"
    if code >= 500:
        return "5xx"
    return "other"


class Attack:
    """One vegeta attack at a constant rate until stop() (SIGINT: vegeta ends and flushes its results)."""

    def __init__(self, vegeta, urls, rate, keepalive, workdir):
        self.vegeta = vegeta
        fd, self.targets = tempfile.mkstemp(suffix=".targets", dir=workdir)
        with os.fdopen(fd, "w") as f:
            f.write("".join(f"GET {u}\n" for u in urls))  # vegeta goes round-robin through the targets
        self.results = self.targets.replace(".targets", ".bin")
        self.process = subprocess.Popen(
            ["nsenter", f"--net={NETNS}", vegeta, "attack", f"-targets={self.targets}", f"-rate={rate}/s",
             "-duration=0", "-timeout=10s", f"-keepalive={'true' if keepalive else 'false'}", "-max-workers=400",
             f"-output={self.results}"], stderr=subprocess.PIPE, text=True)

    def abandon(self):
        """Stops the attack, if it still runs, and throws its results away (a scenario that failed or was stopped)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for path in (self.results, self.targets):
            if os.path.exists(path):
                os.unlink(path)

    def stop(self):
        """Stops the attack; returns the decoded results: dicts with timestamp, latency (ns), code, error."""
        self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise RuntimeError("vegeta did not stop within 30 s of SIGINT")
        decoded = subprocess.run([self.vegeta, "encode", "--to", "json", self.results], capture_output=True,
                                 text=True, timeout=120)
        if decoded.returncode != 0:
            raise RuntimeError(f"vegeta encode failed: {decoded.stderr[-500:]} (attack stderr: {err[-500:]})")
        os.unlink(self.results)
        os.unlink(self.targets)
        return [json.loads(line) for line in decoded.stdout.splitlines() if line.strip()]


def summarize(results, instant):
    """sent, failures by class, a few examples, and when failures happened (epoch seconds, at most 1000)."""
    failures = {c: 0 for c in CLASSES}
    examples, times = [], []
    for r in results:
        kind = failure_class(r.get("code", 0), r.get("error", ""))
        if kind:
            failures[kind] += 1
            if len(examples) < 3:
                examples.append(f"{kind}: {r.get('code')} {r.get('error', '')[:120]}")
            if len(times) < 1000:
                times.append((instant(r["timestamp"]), kind))
    return {"sent": len(results), "failed": sum(failures.values()), "failures": failures, "examples": examples,
            "failure_times": times}
