"""What the benchmark measures besides requests: the agents' own logs (drain reports, time to READY), the agent
container's memory and CPU from its cgroup, and statistics."""

from __future__ import annotations

import glob
import json
import math
import os
import re
import subprocess
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, NamedTuple, Optional, TypedDict

if TYPE_CHECKING:
    from kube import Kube, NamespaceWatch

READY_LINE = re.compile(r"READY ([0-9.]+) s after the JVM started(?:, ([0-9.]+) CPU-seconds)?")


class DrainStep(TypedDict, total=False):
    """One step of an agent's drain report (the fields the benchmark reads)."""
    name: str
    durationSeconds: Optional[float]


class DrainTraffic(TypedDict, total=False):
    """A drain report's traffic object (the fields the benchmark reads)."""
    lastRequestAt: Optional[str]  # when the last request the agent saw arrived; absent when none did


class DrainReport(TypedDict, total=False):
    """An agent's drain report, as its JSON log line carries it (the fields the benchmark reads)."""
    steps: list[DrainStep]
    durationSeconds: Optional[float]
    outcome: str
    startedAt: str
    finishedAt: str
    traffic: DrainTraffic


class AgentLogSummary(NamedTuple):
    """What one agent's log says: its drain report, seconds from JVM start to READY and CPU-seconds spent by then
    (each None when absent)."""
    report: Optional[DrainReport]
    ready_seconds: Optional[float]
    ready_cpu_seconds: Optional[float]


class Sample(NamedTuple):
    """One cgroup reading of an agent container."""
    t: float  # time.monotonic()
    container_id: str
    phase: str  # startup, idle or drain
    memory_bytes: int  # working set
    cpu_ns: int  # CPU time used so far


class PhaseFootprint(TypedDict):
    samples: int
    memory_mib_median: Optional[float]
    memory_mib_max: float
    cpu_millicores_mean: Optional[float]


def percentile(values: Iterable[Optional[float]], p: float) -> Optional[float]:
    """Nearest-rank percentile; None for no values."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return None
    return present[max(0, math.ceil(p / 100 * len(present)) - 1)]


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    return percentile(values, 50)


class AgentLog:
    """Follows one pod's agent container log (kubectl logs -f) into a file until the pod is gone."""

    def __init__(self, kube: Kube, namespace: str, pod: str, workdir: str, container: str = "lameduck",
                 follow: bool = True) -> None:
        self.path = os.path.join(workdir, f"{namespace}.{pod}.log")
        self._out = open(self.path, "w")
        args = [kube.kubectl_bin, "--kubeconfig", kube.kubeconfig, "logs", "-n", namespace, pod, "-c", container]
        self.process = subprocess.Popen(args + (["-f"] if follow else []), stdout=self._out, stderr=subprocess.DEVNULL)

    def close(self, wait: float = 10) -> AgentLogSummary:
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(5)
        self._out.close()
        return parse_agent_log(self.path)


def parse_agent_log(path: str) -> AgentLogSummary:
    """(drain report, seconds from JVM start to READY, CPU-seconds spent by then; each None when absent) from an agent's
    JSON log."""
    report: Optional[DrainReport] = None
    ready: Optional[float] = None
    cpu: Optional[float] = None
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "drainReport" in entry:
                report = entry["drainReport"]
            match = READY_LINE.search(entry.get("msg", ""))
            if match:
                ready = float(match.group(1))
                cpu = float(match.group(2)) if match.group(2) else None
    return AgentLogSummary(report, ready, cpu)


def step_seconds(report: DrainReport, name: str) -> Optional[float]:
    """The duration of the drain step `name` (withdraw, propagate, hooks) in a drain report; None if it has none."""
    for step in report.get("steps", []):
        if step.get("name") == name:
            return step.get("durationSeconds")
    return None


INSTANT = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def instant(text: Optional[str]) -> Optional[float]:
    """An RFC 3339 instant (a drain report's, or vegeta's with nanoseconds) as epoch seconds; None if absent."""
    match = INSTANT.match(text or "")
    if not match:
        return None
    whole, fraction, zone = match.groups()
    seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return seconds + (float(fraction) if fraction else 0.0)


class ContainerCgroups:
    """Reads containers' working set (usage minus inactive file cache, as the kubelet counts it) and CPU time used so
    far from their cgroups, found by container id under the kubelet's cgroupRoot."""

    def __init__(self) -> None:
        self._dirs: dict[str, tuple[str, str, bool]] = {}  # container id -> (memory dir, cpu dir, cgroup v2)

    def read(self, cid: str) -> Optional[tuple[int, int]]:
        """(working set bytes, CPU ns so far); None when the container's cgroup is not (or no longer) there."""
        dirs = self._dirs.get(cid) or self._find(cid)
        if not dirs:
            return None
        try:
            memory_dir, cpu_dir, v2 = dirs
            if v2:
                stat = _kv(os.path.join(memory_dir, "memory.stat"))
                memory = int(open(os.path.join(memory_dir, "memory.current")).read()) - stat.get("inactive_file", 0)
                cpu = _kv(os.path.join(cpu_dir, "cpu.stat"))["usage_usec"] * 1000
            else:
                stat = _kv(os.path.join(memory_dir, "memory.stat"))
                memory = int(open(os.path.join(memory_dir, "memory.usage_in_bytes")).read()) - stat.get("total_inactive_file", 0)
                cpu = int(open(os.path.join(cpu_dir, "cpuacct.usage")).read())
            return memory, cpu
        except (OSError, KeyError, ValueError):
            return None

    def _find(self, cid: str) -> Optional[tuple[str, str, bool]]:
        # The kubelet's cgroupRoot is /lameduck (scripts/cluster.sh): <root>/kubepods/<qos>/pod<uid>/<container id>
        for pattern, v2 in (("/sys/fs/cgroup/memory/lameduck/**/" + cid, False), ("/sys/fs/cgroup/lameduck/**/" + cid, True)):
            found = glob.glob(pattern, recursive=True)
            if found:
                memory_dir = found[0]
                cpu_dir = memory_dir if v2 else memory_dir.replace("/sys/fs/cgroup/memory/", "/sys/fs/cgroup/cpu,cpuacct/")
                if not v2 and not os.path.isdir(cpu_dir):
                    cpu_dir = memory_dir.replace("/sys/fs/cgroup/memory/", "/sys/fs/cgroup/cpuacct/")
                self._dirs[cid] = (memory_dir, cpu_dir, v2)
                return self._dirs[cid]
        return None


class BackgroundLoop:
    """Calls `tick` every `period` seconds in a daemon thread, from `start` until `stop` (which waits for the tick in
    progress, at most `join_seconds`); the first tick at once or after a period."""

    def __init__(self, period: float, first_at_once: bool, join_seconds: float) -> None:
        self.period = period
        self._first_at_once = first_at_once
        self._join_seconds = join_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def start_loop(self) -> None:
        self._thread.start()

    def stop_loop(self) -> None:
        self._stop.set()
        self._thread.join(self._join_seconds)

    def _loop(self) -> None:
        if self._first_at_once:
            self.tick()
        while not self._stop.wait(self.period):
            self.tick()


class CgroupSampler(BackgroundLoop):
    """Samples the agent containers' memory (working set) and CPU time from their cgroups every `period`, each
    sample tagged with the pod's phase: startup (not yet Ready), idle (Ready, 10 s after becoming Ready), drain
    (deleted, containers not yet exited)."""

    def __init__(self, watch: NamespaceWatch, container: str = "lameduck", period: float = 0.5) -> None:
        super().__init__(period, first_at_once=False, join_seconds=5)
        self.watch = watch
        self.container = container
        self.samples: list[Sample] = []
        self._cgroups = ContainerCgroups()

    def start(self) -> CgroupSampler:
        self.start_loop()
        return self

    def stop(self) -> None:
        self.stop_loop()

    def tick(self) -> None:
        now = time.monotonic()
        for track in self.watch.snapshot().values():
            cid = track.container_ids.get(self.container)
            if not cid or track.exited is not None or track.gone is not None:
                continue
            if track.deleted is not None:
                phase = "drain"
            elif track.ready is None:
                phase = "startup"
            elif now - track.ready > 10:
                phase = "idle"
            else:
                continue
            reading = self._cgroups.read(cid)
            if reading:
                self.samples.append(Sample(now, cid, phase, *reading))

    def summary(self) -> dict[str, PhaseFootprint]:
        """Per phase: memory median and max (MiB), CPU mean (millicores) over consecutive samples."""
        result: dict[str, PhaseFootprint] = {}
        for phase in ("startup", "idle", "drain"):
            samples = [s for s in self.samples if s[2] == phase]
            if not samples:
                continue
            cpu_time, wall = 0.0, 0.0
            last: dict[str, tuple[float, int]] = {}  # container id -> its previous (t, cpu ns)
            for t, cid, _, _, cpu in sorted(samples):
                if cid in last and t - last[cid][0] < 3 * self.period:
                    cpu_time += (cpu - last[cid][1]) / 1e9
                    wall += t - last[cid][0]
                last[cid] = (t, cpu)
            memory = [s[3] / 2**20 for s in samples]
            result[phase] = {"samples": len(samples), "memory_mib_median": median(memory),
                             "memory_mib_max": max(memory),
                             "cpu_millicores_mean": 1000 * cpu_time / wall if wall else None}
        return result


def _kv(path: str) -> dict[str, int]:
    """A cgroup stat file's integer values by key."""
    values: dict[str, int] = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(" ")
            if value.strip().lstrip("-").isdigit():
                values[key] = int(value)
    return values
