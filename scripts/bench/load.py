"""Open-loop constant-rate HTTP load with vegeta from inside the node's network namespace: no retries by vegeta,
every result kept, every failure classified (refused, reset, timeout, 5xx, other). GET and POST: Go's HTTP client
(vegeta's) itself resends a GET whose reused keep-alive connection was closed before any answer, never a POST
with a body, so POST with keep-alive shows the requests a client sees failing on a connection that closed under
it (or that an L7 proxy failed on its pooled upstream connection)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from typing import Callable, Optional, Sequence, TypedDict

NETNS = "/var/run/netns/lameduck-kube"
CLASSES = ("refused", "reset", "timeout", "5xx", "other")


class VegetaResult(TypedDict, total=False):
    """One request as `vegeta encode --to json` writes it (the fields the benchmark reads)."""
    timestamp: str  # RFC 3339 with nanoseconds
    latency: int  # nanoseconds
    code: int  # 0 when no answer
    error: str  # "" for a success; vegeta's text otherwise (for a 4xx/5xx answer: its status line)


class AttackSummary(TypedDict):
    """What one attack of a scenario saw."""
    sent: int
    failed: int
    failures: dict[str, int]  # by class, every class of CLASSES
    examples: list[str]  # the first three failures
    failure_times: list[tuple[Optional[float], str]]  # (epoch seconds, class) of the first 1000 failures


def failure_class(code: int, error: str) -> Optional[str]:
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

    def __init__(self, vegeta: str, urls: list[str], rate: int, keepalive: bool, workdir: str, method: str = "GET",
                 host: Optional[str] = None) -> None:
        """method GET or POST (a small form body); host: the Host header (an L7 proxy's route), None: the URL's."""
        self.vegeta = vegeta
        fd, self.targets = tempfile.mkstemp(suffix=".targets", dir=workdir)
        header = f"Host: {host}\n" if host else ""
        with os.fdopen(fd, "w") as f:  # vegeta goes round-robin through the targets
            f.write("".join(f"{method} {u}\n{header}\n" for u in urls))
        self.results = self.targets.replace(".targets", ".bin")
        self.body: Optional[str] = None
        body: list[str] = []
        if method == "POST":
            self.body = self.targets.replace(".targets", ".body")
            with open(self.body, "w") as f:
                f.write("lameduck=benchmark&note=a+POST+is+never+resent+by+the+client\n")
            body = [f"-body={self.body}", "-header=Content-Type: application/x-www-form-urlencoded"]
        self.process = subprocess.Popen(
            ["nsenter", f"--net={NETNS}", vegeta, "attack", f"-targets={self.targets}", f"-rate={rate}/s",
             "-duration=0", "-timeout=10s", f"-keepalive={'true' if keepalive else 'false'}", "-max-workers=400",
             *body, f"-output={self.results}"], stderr=subprocess.PIPE, text=True)

    def _remove_files(self) -> None:
        for path in (self.results, self.targets, self.body):
            if path and os.path.exists(path):
                os.unlink(path)

    def abandon(self) -> None:
        """Stops the attack, if it still runs, and throws its results away (a scenario that failed or was stopped)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._remove_files()

    def stop(self) -> list[VegetaResult]:
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
        self._remove_files()
        return [json.loads(line) for line in decoded.stdout.splitlines() if line.strip()]


def summarize(results: Sequence[VegetaResult], instant: Callable[[str], Optional[float]]) -> AttackSummary:
    """sent, failures by class, a few examples, and when failures happened (epoch seconds, at most 1000)."""
    failures = {c: 0 for c in CLASSES}
    examples: list[str] = []
    times: list[tuple[Optional[float], str]] = []
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
