"""What the benchmark measures besides requests: the agents' own logs (drain reports, time to READY), the agent
container's memory and CPU from its cgroup, and statistics."""

import glob
import json
import math
import os
import re
import subprocess
import threading
import time
from datetime import datetime

READY_LINE = re.compile(r"READY ([0-9.]+) s after the JVM started(?:, ([0-9.]+) CPU-seconds)?")


def percentile(values, p):
    """Nearest-rank percentile; None for no values."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def median(values):
    return percentile(values, 50)


class AgentLog:
    """Follows one pod's agent container log (kubectl logs -f) into a file until the pod is gone."""

    def __init__(self, kube, namespace, pod, workdir, container="lameduck", follow=True):
        self.path = os.path.join(workdir, f"{namespace}.{pod}.log")
        self._out = open(self.path, "w")
        args = [kube.kubectl_bin, "--kubeconfig", kube.kubeconfig, "logs", "-n", namespace, pod, "-c", container]
        self.process = subprocess.Popen(args + (["-f"] if follow else []), stdout=self._out, stderr=subprocess.DEVNULL)

    def close(self, wait=10):
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(5)
        self._out.close()
        return parse_agent_log(self.path)


def parse_agent_log(path):
    """(drain report, seconds from JVM start to READY, CPU-seconds spent by then; each None when absent) from an agent's
    JSON log."""
    report, ready, cpu = None, None, None
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
    return report, ready, cpu


def step_seconds(report, name):
    for step in report.get("steps", []):
        if step.get("name") == name:
            return step.get("durationSeconds")
    return None


INSTANT = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def instant(text):
    """An RFC 3339 instant (a drain report's, or vegeta's with nanoseconds) as epoch seconds; None if absent."""
    match = INSTANT.match(text or "")
    if not match:
        return None
    whole, fraction, zone = match.groups()
    seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return seconds + (float(fraction) if fraction else 0.0)


class CgroupSampler:
    """Samples the agent containers' memory (working set: usage minus inactive file cache, as the kubelet counts
    it) and CPU time from their cgroups every `period`, each sample tagged with the pod's phase: startup (not
    yet Ready), idle (Ready, 10 s after becoming Ready), drain (deleted, containers not yet exited)."""

    def __init__(self, watch, container="lameduck", period=0.5):
        self.watch = watch
        self.container = container
        self.period = period
        self.samples = []  # (t, container id, phase, memory bytes, cpu ns)
        self._dirs = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def _loop(self):
        while not self._stop.wait(self.period):
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
                reading = self._read(cid)
                if reading:
                    self.samples.append((now, cid, phase, *reading))

    def _read(self, cid):
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

    def _find(self, cid):
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

    def summary(self):
        """Per phase: memory median and max (MiB), CPU mean (millicores) over consecutive samples."""
        result = {}
        for phase in ("startup", "idle", "drain"):
            samples = [s for s in self.samples if s[2] == phase]
            if not samples:
                continue
            cpu_time, wall = 0.0, 0.0
            last = {}
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


def _kv(path):
    values = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(" ")
            if value.strip().lstrip("-").isdigit():
                values[key] = int(value)
    return values
