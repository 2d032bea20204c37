"""An idle agent as a user's pod runs it for hours. The benchmark's own idle phase is a young pod (the next rollout
comes within a minute) under four scenarios' contention: its compiler still at work, its informational start-up
checks (15 s after start-up) inside it. That is not what a pod pays for the rest of its life. So after the
scenarios, on the then quiet node, the chart's example is left alone: probed by the kubelet as the chart configures,
`/metrics` scraped every 30 s as a Prometheus would, no drain, no load on the app. From `after` seconds past its
`Ready`, over `window` seconds: each agent container's CPU (cgroup), working set (sampled every second) and the
lines its log gained (extrapolated to a day)."""

from __future__ import annotations

import subprocess
import time
from typing import TYPE_CHECKING, Callable, Optional, TypedDict

import load
import measure
import scenarios

if TYPE_CHECKING:
    from kube import Kube, NamespaceWatch, PodTrack

SCENARIO = "lameduck-readiness-gate"  # the chart as shipped
SCRAPE_EVERY = 30.0
AGENT_PORT = 7979
DAY = 86400.0


class IdleWindow(TypedDict):
    pods: int
    window_seconds: float
    cpu_millicores: list[float]  # per pod, over the window
    memory_mib: list[float]  # per pod, the median of its samples
    log_lines: list[int]  # per pod, lines its log gained in the window
    startup_log_lines: list[int]  # per pod, lines from its start to the window's start


class SteadyIdle(IdleWindow):
    after_ready_seconds: float
    scrapes: int  # /metrics answered 200, all pods, from the deployment to the window's end


def lines_per_day(lines: int, window_seconds: float) -> float:
    return lines * DAY / window_seconds


def millicores(cpu_ns: int, seconds: float) -> float:
    return cpu_ns / 1e6 / seconds


class Scraper(measure.BackgroundLoop):
    """GET /metrics of each pod every SCRAPE_EVERY seconds from the node's network namespace, in a thread."""

    def __init__(self, watch: NamespaceWatch) -> None:
        super().__init__(SCRAPE_EVERY, first_at_once=True, join_seconds=15)
        self.watch = watch
        self.answered = 0

    def start(self) -> Scraper:
        self.start_loop()
        return self

    def stop(self) -> int:
        self.stop_loop()
        return self.answered

    def tick(self) -> None:
        for track in self.watch.live():
            if track.ip and self._scrape(track.ip):
                self.answered += 1

    @staticmethod
    def _scrape(ip: str) -> bool:
        done = subprocess.run(["nsenter", f"--net={load.NETNS}", "curl", "-s", "-o", "/dev/null", "-m", "5", "-w",
                               "%{http_code}", f"http://{ip}:{AGENT_PORT}/metrics"], capture_output=True, text=True,
                              timeout=10)
        return done.stdout.strip() == "200"


def log_line_count(kube: Kube, namespace: str, pod: str) -> int:
    out = kube.kubectl("logs", "-n", namespace, pod, "-c", "lameduck", timeout=30)
    return len(out.splitlines())


def measure_idle(kube: Kube, namespace: str, images: dict[str, str], replicas: int, after: float,
                 window: float, log: Callable[[str], None]) -> SteadyIdle:
    """Deploys the chart's example into `namespace` (created here, deleted at the end) and measures it as above."""
    from kube import NamespaceWatch

    kube.kubectl("create", "namespace", namespace)
    watch = NamespaceWatch(kube, namespace).start()
    scraper = Scraper(watch)
    try:
        scenarios.BY_NAME[SCENARIO].deploy(kube, namespace, images, replicas)
        scraper.start()
        pods = wait_all_ready(watch, replicas, bound_seconds=60)
        begin = max(t.ready or 0.0 for t in pods) + after
        log(f"idle agents: {len(pods)} pods Ready; measuring from {after:.0f} s after the last turned Ready, over "
            f"{window:.0f} s")
        time.sleep(max(0.0, begin - time.monotonic()))
        w = sample_window(kube, namespace, {t.name: t.container_ids["lameduck"] for t in pods}, window)
        return {"pods": w["pods"], "window_seconds": w["window_seconds"], "cpu_millicores": w["cpu_millicores"],
                "memory_mib": w["memory_mib"], "log_lines": w["log_lines"], "startup_log_lines": w["startup_log_lines"],
                "after_ready_seconds": after, "scrapes": scraper.stop()}
    finally:
        scraper.stop()
        watch.stop()
        kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def wait_all_ready(watch: NamespaceWatch, replicas: int, bound_seconds: float) -> list[PodTrack]:
    """The pods once all `replicas` are Ready with an agent container; fails after `bound_seconds`."""
    deadline = time.monotonic() + bound_seconds
    while True:
        pods = watch.live()
        if len(pods) == replicas and all(t.ready is not None and "lameduck" in t.container_ids for t in pods):
            return pods
        if time.monotonic() > deadline:
            raise RuntimeError(f"idle agents: {len(pods)} pods, not all Ready with an agent container, "
                               f"{bound_seconds:.0f} s after the chart's rollout finished")
        time.sleep(0.5)


def sample_window(kube: Kube, namespace: str, ids: dict[str, str], window: float) -> IdleWindow:
    """Over `window` seconds, each agent container's (container id by pod name) CPU from its cgroup, its working set
    every second, and the lines its log gained."""
    cgroups = measure.ContainerCgroups()
    start_lines = {name: log_line_count(kube, namespace, name) for name in ids}
    first = {name: cgroups.read(cid) for name, cid in ids.items()}
    started = time.monotonic()
    memory: dict[str, list[float]] = {name: [] for name in ids}
    while time.monotonic() - started < window:
        time.sleep(1.0)
        for name, cid in ids.items():
            reading = cgroups.read(cid)
            if reading:
                memory[name].append(reading[0] / 2**20)
    last = {name: cgroups.read(cid) for name, cid in ids.items()}
    seconds = time.monotonic() - started
    end_lines = {name: log_line_count(kube, namespace, name) for name in ids}
    cpu: list[float] = []
    for name in ids:
        a, b = first[name], last[name]
        if a and b:
            cpu.append(millicores(b[1] - a[1], seconds))
    return {"pods": len(ids), "window_seconds": round(seconds, 1), "cpu_millicores": cpu,
            "memory_mib": [m for m in (measure.median(v) for v in memory.values()) if m is not None],
            "log_lines": [end_lines[n] - start_lines[n] for n in ids],
            "startup_log_lines": [start_lines[n] for n in ids]}


def span(values: list[float], unit: str, digits: int) -> str:
    """min–max of per-pod values, as text ("–" for none)."""
    if not values:
        return "–"
    low, high = min(values), max(values)
    return f"{low:.{digits}f}{unit}" if round(low, digits) == round(high, digits) else f"{low:.{digits}f}–{high:.{digits}f}{unit}"


def summary_lines(idle: Optional[SteadyIdle]) -> list[str]:
    """BENCHMARKS.md's lines for the idle agents (none when they were not measured); per-pod values as min–max."""
    if not idle:
        return []
    lines = [float(n) for n in idle["log_lines"]]
    per_day = [lines_per_day(int(n), idle["window_seconds"]) for n in lines]
    return [
        f"- Idle agents, steady state ({idle['pods']} pods of the chart's example alone on the quiet node after the "
        f"scenarios, probed by the kubelet as the chart configures, `/metrics` scraped every {SCRAPE_EVERY:.0f} s "
        f"({idle['scrapes']} scrapes answered), no load; from {idle['after_ready_seconds']:.0f} s after the last turned "
        f"`Ready`, over {idle['window_seconds']:.0f} s; per pod, min–max):",
        f"  - CPU {span(idle['cpu_millicores'], ' millicores', 1)} (cgroup); working set "
        f"{span(idle['memory_mib'], ' MiB', 1)} (median of samples every second)",
        f"  - log: {span(lines, ' lines', 0)} in the window, i.e. {span(per_day, ' lines a day', 0)}; "
        f"{span([float(n) for n in idle['startup_log_lines']], ' lines', 0)} from the start to the window",
    ]
