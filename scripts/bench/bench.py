"""Rollouts under load on the real single-node cluster: dropped requests and termination time per way of
terminating a pod, on a fast and a slow data plane, through each consumer of the endpoints: the Service's
ClusterIP (kube-proxy), and an L7 proxy with pooled keep-alive connections to the pod IPs (HAProxy Ingress,
scripts/l7.sh) as shipped and lagging (endpoint changes applied 10 s late). Run by scripts/bench.sh (which builds
what it needs); writes BENCHMARKS.md, a PNG chart and the raw results. See `scripts/bench.sh --help`."""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from types import FrameType
from typing import Any, Callable, NamedTuple, NoReturn, Optional, Sequence

import load
import measure
import report
import scenarios
import steady
from kube import Kube, NamespaceWatch, PodTrack, run
from load import AttackSummary, VegetaResult
from measure import DrainReport
from results import Machine, Meta, ReadyzWindow, ScenarioResult, Versions

PLANES = {"fast": "1s", "slow": "5s"}  # kube-proxy --iptables-min-sync-period


class Proxy(NamedTuple):
    """An L7 consumer: an instance of scripts/l7.sh (HAProxy Ingress)."""
    wait: str  # its delay before it applies a batch of endpoint changes (--wait-before-update)
    port: int  # its http port in the node's namespace
    redispatch: bool  # whether a request whose connection was refused goes to another pod (as shipped)


# How the load reaches the pods: the ClusterIP, or an L7 proxy. As shipped the proxy applies endpoint changes
# 200 ms after the first of a batch (then at most one update per 2 s) and resends a refused connection's request
# elsewhere; lagging, it applies them 10 s late. With the resending, a pod that has gone costs nothing however late
# the proxy learns of it (only a connection that closes under a request does), so the lag hardly shows; the third
# setting lags and does not resend: a consumer that keeps sending to a pod that has gone, as a load balancer
# without retries does.
CONSUMERS: dict[str, Optional[Proxy]] = {"clusterip": None, "l7": Proxy("200ms", 18080, redispatch=True),
                                         "l7-lagging": Proxy("10s", 18081, redispatch=True),
                                         "l7-lagging-noretry": Proxy("10s", 18082, redispatch=False)}
NODE_IP = "10.200.0.2"
QUICK_RUNS = [("clusterip", "no-prestop"), ("clusterip", "sleep-5"), ("clusterip", "lameduck-readiness-gate"),
              ("l7", "lameduck-readiness-gate"), ("clusterip", "lameduck-leave-early")]
READYZ_RATE = 100
# Idle agents are measured this long after they turned Ready: past their informational start-up checks (15 s) and
# the compiler's work on the request path (about a minute; docs/performance.md "Footprint").
IDLE_AFTER = 120.0
STEPS = ("withdraw", "propagate", "hooks")
LOG_LOCK = threading.Lock()
STOP = threading.Event()  # set on SIGINT/SIGTERM: scenarios stop at their next step, then the cluster goes down
STARTED = time.monotonic()


def log(message: str) -> None:
    with LOG_LOCK:
        print(f"[bench {time.monotonic() - STARTED:6.0f}s] {message}", file=sys.stderr, flush=True)


class Interrupted(Exception):
    pass


def check_stop(tag: str) -> None:
    if STOP.is_set():
        raise Interrupted(f"{tag}: interrupted")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # bad arguments exit 3, like the agent's bad configuration
        self.print_usage(sys.stderr)
        print(f"bench: {message}", file=sys.stderr)
        sys.exit(3)


def bounded(low: float, high: float, kind: Callable[[str], Any] = int) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
        return value
    return parse


def names(allowed: list[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        chosen = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"unknown {unknown or 'empty list'}; choose from {', '.join(allowed)}")
        return chosen
    return parse


def arguments(argv: Sequence[str]) -> argparse.Namespace:
    p = Parser(prog="scripts/bench.sh", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: fast plane, no-prestop, sleep-5, lameduck-readiness-gate and lameduck-leave-early through the ClusterIP "
                        "and lameduck-readiness-gate through l7, 1 rollout each (--scenarios/--consumers choose "
                        "others); writes under target/bench-quick unless --out is given")
    p.add_argument("--rollouts", type=bounded(1, 50), help="rollouts per scenario (default 7; --quick: 1)")
    p.add_argument("--replicas", type=bounded(2, 6), default=3, help="pods per Deployment (default 3)")
    p.add_argument("--rate", type=bounded(1, 200), default=25,
                   help="requests/s of each of the three attacks (GET keep-alive on, off; POST keep-alive on) per "
                        "scenario (default 25)")
    p.add_argument("--slow-share", type=bounded(0, 0.5, float), default=0.1,
                   help="share of slow requests (default 0.1)")
    p.add_argument("--slow", default="1500ms", help="duration of a slow request, a Go duration (default 1500ms)")
    p.add_argument("--planes", type=names(list(PLANES)), help="data planes (default fast,slow; --quick: fast)")
    p.add_argument("--scenarios", type=names([s.name for s in scenarios.ALL]), help="scenarios (default: all)")
    p.add_argument("--consumers", type=names(list(CONSUMERS)),
                   help="how the load reaches the pods, each scenario through each: clusterip (kube-proxy), l7 (HAProxy "
                        "Ingress, pooled keep-alive to the pod IPs, as shipped), l7-lagging (the same, applying endpoint "
                        "changes 10 s late), l7-lagging-noretry (lagging, and not resending a refused connection's "
                        "request to another pod) (default: all four; the L7 ones on the first data plane only: they send to the pod IPs, so kube-proxy's sync period does not touch them)")
    p.add_argument("--parallel", type=bounded(1, 8), default=4, help="scenarios run at once (default 4)")
    p.add_argument("--out", help="directory of BENCHMARKS.md (default: docs/benchmarks; --quick: target/bench-quick)")
    p.add_argument("--idle", type=bounded(0, 600), help=f"after the scenarios, measure idle agents (the chart as shipped, "
                   f"alone on the node) for this many seconds, from {IDLE_AFTER:.0f} s after they turned Ready "
                   f"(default 60; --quick: 0, not measured)")
    p.add_argument("--keep", action="store_true", help="leave the cluster up at the end")
    p.add_argument("--report-only", metavar="DIR",
                   help="measure nothing: render BENCHMARKS.md and the chart again from DIR/benchmarks.json, an earlier "
                        "run's raw results, after a change to the report (other options are ignored; no root needed)")
    args = p.parse_args(argv)
    if args.report_only is not None:
        raw = os.path.join(args.report_only, report.RAW)
        if not os.path.isfile(raw):
            p.error(f"--report-only {args.report_only!r}: no {raw}; give the --out directory of an earlier run")
        return args
    if not re.fullmatch(r"\d{1,5}(\.\d{1,3})?(ms|s)", args.slow):
        p.error(f"--slow {args.slow!r} is not a duration like 1500ms or 2s")
    args.rollouts = args.rollouts or (1 if args.quick else 7)
    if args.idle is None:
        args.idle = 0 if args.quick else 60
    args.planes = args.planes or (["fast"] if args.quick else list(PLANES))
    if args.quick and not args.scenarios and not args.consumers:
        args.runs = list(QUICK_RUNS)
    else:
        args.scenarios = args.scenarios or ([n for c, n in QUICK_RUNS if c == "clusterip"] if args.quick
                                            else [s.name for s in scenarios.ALL])
        args.consumers = args.consumers or (["clusterip"] if args.quick else list(CONSUMERS))
        args.runs = [(c, n) for c in args.consumers for n in args.scenarios]
    args.scenarios = list(dict.fromkeys(n for _, n in args.runs))
    args.consumers = list(dict.fromkeys(c for c, _ in args.runs))
    args.out = args.out or ("target/bench-quick" if args.quick else "docs/benchmarks")
    return args


def proxy_delay(consumer: str) -> Optional[str]:
    """An L7 consumer's delay before it applies endpoint changes; None for the ClusterIP."""
    proxy = CONSUMERS[consumer]
    return proxy.wait if proxy else None


def runs_on(args: argparse.Namespace, plane: str) -> list[tuple[str, str]]:
    """The (consumer, scenario) runs of one data plane. The L7 consumers send to the pod IPs, so kube-proxy's sync
    period (what tells the planes apart) does not touch them: they run on the first plane only."""
    return [(c, n) for c, n in args.runs if not CONSUMERS[c] or plane == args.planes[0]]


@dataclass
class Context:
    args: argparse.Namespace
    kube: Kube
    images: dict[str, str]  # image name by role
    tars: list[str]  # the image archives to import into the node
    vegeta: str
    workdir: str


def namespace(plane: str, consumer: str, scenario_name: str) -> str:
    return f"b-{plane}-{consumer}-{scenario_name}"


# The attacks of every scenario: name -> (method, keep-alive)
ATTACKS = {"keepalive": ("GET", True), "no_keepalive": ("GET", False), "post_keepalive": ("POST", True)}


def run_scenario(ctx: Context, plane: str, consumer: str, scenario: scenarios.Scenario,
                 profile: bool) -> ScenarioResult:
    """Deploys, rolls `rollouts` times under load through `consumer`, and returns what was measured."""
    args, kube = ctx.args, ctx.kube
    ns = namespace(plane, consumer, scenario.name)
    tag = f"{plane}/{consumer}/{scenario.name}"
    check_stop(tag)
    kube.kubectl("create", "namespace", ns)
    scenario.deploy(kube, ns, ctx.images, args.replicas)
    watch = NamespaceWatch(kube, ns).start()
    sampler = measure.CgroupSampler(watch).start() if profile else None
    proxy = CONSUMERS[consumer]
    host: Optional[str]
    if proxy:  # through the L7 proxy: its port, the Ingress's host
        host = f"{ns}.bench.test"
        scenario.expose(kube, ns, consumer, host)
        base = f"http://{NODE_IP}:{proxy.port}"
    else:
        host, base = None, scenario.service_url(kube, ns)
    slow_every = round(1 / args.slow_share) if args.slow_share else 0
    urls = [f"{base}/slow?d={args.slow}" if slow_every and i % slow_every == slow_every - 1 else f"{base}/"
            for i in range(max(slow_every, 1))]
    wait_until_answering(base + "/", tag, host=host)
    attacks: dict[str, load.Attack] = {}
    try:
        for name, (method, keepalive) in ATTACKS.items():
            attacks[name] = load.Attack(ctx.vegeta, urls, args.rate, keepalive, ctx.workdir, method=method, host=host)
    except Exception:
        for attack in attacks.values():
            attack.abandon()
        raise
    rollouts: list[float] = []
    drains: list[DrainReport] = []
    drain_of: dict[str, str] = {}  # pod name -> the id of its agent's drain report
    ready_seconds: list[float] = []
    ready_cpu: list[float] = []
    readyz: list[ReadyzWindow] = []
    extra: list[load.Attack] = []  # a /readyz attack running during a rollout: abandoned if the scenario ends early
    try:
        time.sleep(5)  # load flowing and the watches caught up before the first pod goes
        for i in range(args.rollouts):
            check_stop(tag)
            old = watch.live()
            logs = {t.name: measure.AgentLog(kube, ns, t.name, ctx.workdir) for t in old} if scenario.lameduck else {}
            probe_target = old[0] if profile and old else None
            probe = load.Attack(ctx.vegeta, [f"http://{probe_target.ip}:7979/readyz"], READYZ_RATE, False,
                                ctx.workdir) if probe_target else None
            if probe:
                extra.append(probe)
            started = time.monotonic()
            kube.kubectl("rollout", "restart", f"deployment/{scenario.deployment}", "-n", ns)
            kube.kubectl("rollout", "status", f"deployment/{scenario.deployment}", "-n", ns, "--timeout=300s", timeout=310)
            rolled = time.monotonic() - started
            try:
                wait_until_gone(watch, [t.name for t in old], scenarios.GRACE_SECONDS + 30, tag)
            except RuntimeError:
                keep_stuck_evidence(kube, args.out, ns, watch, [t.name for t in old],
                                    {name: pod_log.path for name, pod_log in logs.items()})
                raise
            rollouts.append(rolled)
            reports: dict[str, Optional[DrainReport]] = {}
            for name, pod_log in logs.items():
                reports[name], ready, cpu = pod_log.close()
                drain = reports[name]
                if drain:
                    drains.append(drain)
                    drain_of[name] = str(drain.get("id"))
                if ready is not None:
                    ready_seconds.append(ready)
                if cpu is not None:
                    ready_cpu.append(cpu)
            if probe and probe_target:
                extra.remove(probe)
                probed = probe.stop()
                track = watch.snapshot()[probe_target.name]
                window = readyz_window(probed, track, reports.get(probe_target.name))
                readyz.append(window)
                if window.get("unanswered"):
                    agent_log = logs[probe_target.name].path if probe_target.name in logs else ""
                    evidence = keep_readyz_evidence(args.out, ns, track, probed, reports.get(probe_target.name), agent_log)
                    log(f"{tag}: /readyz went unanswered while {probe_target.name} drained; its agent log and the "
                        f"requests are in {evidence}")
            log(f"{tag}: rollout {i + 1}/{args.rollouts} in {rolled:.1f} s, old pods gone after "
                f"{time.monotonic() - started:.1f} s")
        time.sleep(3)
    finally:
        for attack in extra:
            attack.abandon()
        results = {name: load.summarize(a.stop(), measure.instant) for name, a in attacks.items()}
        watch.stop()
        if sampler:
            sampler.stop()
    if scenario.lameduck:  # the last generation's start-up
        for t in watch.live():
            _, ready, cpu = measure.AgentLog(kube, ns, t.name, ctx.workdir, follow=False).close()
            if ready is not None:
                ready_seconds.append(ready)
            if cpu is not None:
                ready_cpu.append(cpu)
    kube.kubectl("delete", "namespace", ns, "--wait=false")
    pods = [t for t in watch.snapshot().values() if t.deleted is not None]
    failed = sum(r["failed"] for r in results.values())
    log(f"{tag}: done, {len(pods)} terminations, {failed} failed requests")
    return {
        "plane": plane, "consumer": consumer, "scenario": scenario.name, "label": scenario.label,
        "lameduck": scenario.lameduck, "sleep_seconds": scenario.sleep_seconds,
        "rollouts": len(rollouts), "rollout_seconds_median": measure.median(rollouts),
        "terminations": len(pods), "requests": results,
        "failure_after_deletion_seconds": after_deletion(results, pods),
        "termination_seconds": [t.termination_seconds() for t in pods],
        "not_serving_seconds": [t.not_serving_seconds() for t in pods],
        "drain_seconds": [d.get("durationSeconds") for d in drains],
        "steps": {s: [measure.step_seconds(d, s) for d in drains] for s in STEPS},
        "drain_outcomes": sorted({d.get("outcome", "?") for d in drains}),
        "ready_seconds": ready_seconds,
        "ready_cpu_seconds": ready_cpu,
        "footprint": sampler.summary() if sampler else None,
        "readyz": readyz,
        # for a look at what happened, e.g. which pod's drain preceded a failed request
        "pods": [{"name": t.name, "deleted_at": t.deleted_wall, "gone_at": t.gone_wall,
                  "termination_seconds": t.termination_seconds(), "not_serving_seconds": t.not_serving_seconds(),
                  "drain_report": drain_of.get(t.name)}
                 for t in pods],
        "drain_reports": drains,
    }


def wait_until_answering(url: str, tag: str, bound_seconds: float = 90, in_a_row: int = 20,
                         host: Optional[str] = None) -> None:
    """Waits until the Service answers `in_a_row` new connections in a row: kube-proxy (or the L7 proxy, for the
    Host header `host`) has programmed it."""
    deadline, streak = time.monotonic() + bound_seconds, 0
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    while streak < in_a_row:
        check_stop(tag)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tag}: {url} did not answer {in_a_row} times in a row within {bound_seconds} s")
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                streak = streak + 1 if answer.status == 200 else 0
        except OSError:
            streak = 0
            time.sleep(0.2)


def after_deletion(results: dict[str, AttackSummary], pods: list[PodTrack]) -> list[tuple[Optional[float], str]]:
    """For each failed request: seconds since the latest pod deletion before it (None if before any)."""
    deletions = sorted(t.deleted_wall for t in pods if t.deleted_wall)
    offsets: list[tuple[Optional[float], str]] = []
    for q in results.values():
        for at, kind in q["failure_times"]:
            before = [d for d in deletions if at is not None and d <= at]
            offsets.append((round(at - before[-1], 2) if at is not None and before else None, kind))
    return offsets


def wait_until_gone(watch: NamespaceWatch, pods: list[str], bound_seconds: float, tag: str) -> None:
    deadline = time.monotonic() + bound_seconds
    while True:
        check_stop(tag)
        seen = watch.snapshot()
        left = [p for p in pods if p in seen and seen[p].gone is None]
        if not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tag}: {left} still there {bound_seconds} s after the rollout")
        time.sleep(0.5)


def keep_stuck_evidence(kube: Kube, out: str, namespace: str, watch: NamespaceWatch, pods: list[str],
                        agent_logs: dict[str, str]) -> None:
    """At the moment old pods outlived their bound: what the watch saw of them, their objects as the API has them
    (deletion, conditions, containers' states), the namespace's Events and their agents' logs so far, into
    <out>/bench-diagnostics/<namespace>.stuck.txt (the scenario's diagnostics come only once every scenario ended)."""
    now = time.monotonic()
    seen = watch.snapshot()
    lines = []
    for name in pods:
        track = seen.get(name)
        if track is None or track.gone is not None:
            continue
        ago = {k: (None if v is None else round(now - v, 2)) for k, v in
               (("created", track.created), ("ready", track.ready), ("deleted", track.deleted), ("exited", track.exited),
                ("not serving", track.not_serving))}
        lines.append(f"== {name}: seconds ago, as the bench's watch saw it: {json.dumps(ago)}")
        lines.append(kube.kubectl("get", "pod", name, "-n", namespace, "-o", "json", check=False))
        if name in agent_logs:
            try:
                with open(agent_logs[name], errors="replace") as f:
                    lines.append(f"-- agent log so far:\n{f.read()[-20000:]}")
            except OSError as e:
                lines.append(f"-- no agent log: {e}")
    lines.append("== events:\n" + kube.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp", check=False)[-20000:])
    path = os.path.join(out, "bench-diagnostics", namespace + ".stuck.txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    log(f"{namespace}: pods outlived their bound; their state then in {path}")


def readyz_window(results: list[VegetaResult], track: PodTrack, drain: Optional[DrainReport]) -> ReadyzWindow:
    """/readyz latencies of the requests sent while the pod drained: from its deletion to its drain's end."""
    start, end = drain_span(track, drain)
    if start is None or end is None:
        return {"requests": 0}
    window = [r for r in results if within(measure.instant(r["timestamp"]), start, end)]
    latencies = [r["latency"] / 1e6 for r in window if r.get("code") in (200, 503)]
    unanswered = [f"{(measure.instant(r['timestamp']) or start) - start:.2f} s after the deletion: {r.get('code', 0)} {r.get('error', '')[:120]}"
                  for r in window if r.get("code") not in (200, 503)][:3]
    return {"requests": len(window), "answered": len(latencies), "seconds": round(end - start, 2),
            "codes": sorted({r.get("code", 0) for r in window}),
            "p50_ms": measure.percentile(latencies, 50), "p99_ms": measure.percentile(latencies, 99),
            "max_ms": max(latencies) if latencies else None, "unanswered": unanswered}


def keep_readyz_evidence(out: str, namespace: str, track: PodTrack, results: list[VegetaResult],
                         drain: Optional[DrainReport], agent_log: str) -> str:
    """Writes what explains unanswered /readyz requests during a drain to <out>/bench-diagnostics/<namespace>.<pod>.readyz.txt
    (the benchmark keeps no agent log otherwise): every request from the deletion to the drain's end (and 2 s after),
    seconds after the deletion, with its answer; the drain's start and end; the agent's whole log. Returns the path."""
    deleted, end = drain_span(track, drain)
    start = deleted or 0.0
    lines = [f"pod {track.name}: deleted at {start:.3f} (epoch s); drain {drain.get('id') if drain else '?'} from "
             f"{drain.get('startedAt') if drain else '?'} to {drain.get('finishedAt') if drain else '?'}",
             "", "/readyz requests (s after the deletion: code latency_ms error):"]
    for r in results:
        t = measure.instant(r["timestamp"])
        if t is not None and within(t, start, float("inf") if end is None else end + 2):
            lines.append(f"{t - start:8.3f}: {r.get('code', 0)} {r.get('latency', 0) / 1e6:.1f} {r.get('error', '')[:200]}")
    lines += ["", "agent log:"]
    try:
        with open(agent_log) as f:
            lines.append(f.read())
    except OSError as e:
        lines.append(f"(cannot read {agent_log}: {e})")
    path = os.path.join(out, "bench-diagnostics", f"{namespace}.{track.name}.readyz.txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def drain_span(track: PodTrack, drain: Optional[DrainReport]) -> tuple[Optional[float], Optional[float]]:
    """When the pod drained, in epoch seconds: from its deletion (as the watch saw it) to its drain's end (from the
    agent's report); None where not known."""
    return track.deleted_wall, (measure.instant(drain.get("finishedAt")) if drain else None)


def within(t: Optional[float], start: float, end: float) -> bool:
    return t is not None and start <= t <= end


def diagnose(kube: Kube, namespace: str, out: str, consumer: str = "clusterip") -> str:
    """What the pods of a scenario that failed looked like, and their agents' last words (also of restarted ones),
    and the L7 controller's last log lines if it went through one, written to
    <out>/bench-diagnostics/<namespace>.txt; returns that path."""
    lines = [kube.kubectl("get", "pods", "-n", namespace, "-o", "wide", check=False)]
    try:
        pods = kube.get_json("pods", "-n", namespace)["items"]
    except Exception as e:  # the namespace may be gone already
        pods = []
        lines.append(f"cannot list pods: {e}")
    for pod in pods:
        name = pod["metadata"]["name"]
        for status in pod.get("status", {}).get("containerStatuses", []) + pod.get("status", {}).get("initContainerStatuses", []):
            lines.append(f"== {name}/{status['name']}: restarts {status.get('restartCount')}, "
                         f"state {json.dumps(status.get('state'))}, last {json.dumps(status.get('lastState'))}")
            for previous in (["--previous"] if status.get("restartCount") else []) + [None]:
                args = ["logs", "-n", namespace, name, "-c", status["name"], "--tail=40"] + ([previous] if previous else [])
                lines.append(f"-- logs {previous or 'current'}:\n" + kube.kubectl(*args, check=False))
    if CONSUMERS.get(consumer):
        controller_log = os.path.join(os.environ.get("LAMEDUCK_L7_DIR", "/var/lib/lameduck-l7"), consumer,
                                      "controller.log")
        try:
            with open(controller_log, errors="replace") as f:
                lines.append(f"== {consumer} controller (scripts/l7.sh), last lines:\n" + "".join(f.readlines()[-60:]))
        except OSError as e:
            lines.append(f"no {consumer} controller log: {e}")
    path = os.path.join(out, "bench-diagnostics", namespace + ".txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    log(f"{namespace}: diagnostics in {path}")
    return path


def interleaved(runs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(consumer, scenario) runs: Lameduck scenarios (a JVM per pod) alternating with the baselines, so that
    scenarios running at once load the node alike."""
    lameduck = [r for r in runs if scenarios.BY_NAME[r[1]].lameduck]
    others = [r for r in runs if not scenarios.BY_NAME[r[1]].lameduck]
    mixed: list[tuple[str, str]] = []
    for i in range(max(len(lameduck), len(others))):
        mixed += lameduck[i:i + 1] + others[i:i + 1]
    return mixed


def cluster(*args: str, env: Optional[dict[str, str]] = None, timeout: float = 600) -> str:
    return run(["scripts/cluster.sh", *args], timeout, env=env)


def l7(*args: str, timeout: float = 300) -> str:
    return run(["scripts/l7.sh", *args], timeout)


def machine() -> Machine:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_gib": round(mem / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version()}


def versions(kube: Kube, vegeta: str, images: dict[str, str]) -> Versions:
    server = json.loads(kube.kubectl("version", "-o", "json")).get("serverVersion", {}).get("gitVersion", "?")
    containerd = run(["containerd", "--version"], 10, check=False).strip()
    commit = run(["git", "rev-parse", "--short", "HEAD"], 10, check=False).strip()
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"], 10, check=False).strip()
    return {"kubernetes": server, "containerd": containerd, "vegeta": os.path.basename(vegeta),
            "commit": commit + (" (with uncommitted changes)" if dirty else ""), "images": images}


def interrupt(signum: int, frame: Optional[FrameType]) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    args = arguments(argv)
    if args.report_only is not None:
        return render_again(args.report_only)
    if os.environ.get("BENCH_VALIDATE_ONLY"):
        return 0
    signal.signal(signal.SIGTERM, interrupt)
    try:
        return measure_all(args, argv)
    except KeyboardInterrupt:
        log("interrupted: no report written")
        return 130


# A full run's benchmarks.json is 2-3 MiB; a file far larger is not one, and is not read into memory.
MAX_RAW_BYTES = 64 * 1024 * 1024


def render_again(out: str) -> int:
    """BENCHMARKS.md and the chart from an earlier run's raw results in `out`; exit 3 when they cannot be read."""
    raw = os.path.join(out, report.RAW)
    try:
        if os.path.getsize(raw) > MAX_RAW_BYTES:
            raise ValueError(f"{os.path.getsize(raw):,} bytes, more than the {MAX_RAW_BYTES:,} a run's results take")
        with open(raw) as f:
            loaded = json.load(f)
        if not isinstance(loaded.get("results"), list) or not isinstance(loaded.get("meta"), dict):
            raise ValueError("no meta object or no results list in it")
        meta: Meta = loaded["meta"]
        results: list[ScenarioResult] = loaded["results"]
    except (OSError, ValueError, AttributeError) as e:
        log(f"cannot render {raw} again: {e}; it must be the benchmarks.json an earlier run wrote")
        return 3
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        path = report.write(out, meta, results, f"by `scripts/bench.sh --report-only {out}` on {when}")
    except (KeyError, TypeError, AttributeError, ValueError) as e:  # raised while rendering, before any file is written
        log(f"cannot render {raw} again: {e!r} is missing or malformed; it must be the benchmarks.json an earlier run wrote")
        return 3
    log(f"wrote {path} from {raw} (no measurement)")
    return 0


def measure_all(args: argparse.Namespace, argv: list[str]) -> int:
    kubectl, helm, vegeta = os.environ["BENCH_KUBECTL"], os.environ["BENCH_HELM"], os.environ["BENCH_VEGETA"]
    images: dict[str, str] = {}
    tars: list[str] = []
    for line in os.environ["BENCH_IMAGES"].splitlines():
        fields = dict(f.split("=", 1) for f in line.split())
        images[fields["IMAGE"]] = fields["NAME"]
        if fields["IMAGE"] != "base":
            tars.append(fields["TAR"])
    kubeconfig = os.path.join(os.environ.get("LAMEDUCK_CLUSTER_DIR", "/var/lib/lameduck-cluster"), "admin.kubeconfig")
    workdir = tempfile.mkdtemp(prefix="lameduck-bench-")
    started = datetime.now(timezone.utc)
    results: list[ScenarioResult] = []
    env_versions = None
    meta_idle: Optional[steady.SteadyIdle] = None
    idle_error: Optional[str] = None
    total = sum(len(runs_on(args, plane)) for plane in args.planes)
    proxies = [c for c in args.consumers if CONSUMERS[c]]
    log(f"{total} scenarios x {args.rollouts} rollouts x {args.replicas} pods, {args.parallel} at a time")
    if proxies:
        l7("install", timeout=900)
    try:
        for plane in args.planes:
            log(f"{plane} data plane: kube-proxy min sync {PLANES[plane]}; (re)starting the cluster")
            l7("down")
            cluster("down", timeout=300)
            cluster("up", env={**os.environ, "LAMEDUCK_KUBE_PROXY_MIN_SYNC": PLANES[plane]})
            cluster("import", *tars)
            kube = Kube(kubectl, helm, kubeconfig)
            kube.start_proxy()
            env_versions = env_versions or versions(kube, vegeta, images)
            ctx = Context(args, kube, images, tars, vegeta, workdir)
            try:
                for consumer, proxy in dict.fromkeys((c, CONSUMERS[c]) for c, _ in runs_on(args, plane)):
                    if proxy:
                        l7("start", consumer, proxy.wait, str(proxy.port), *([] if proxy.redispatch else ["--no-redispatch"]))
                with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
                    futures = {pool.submit(run_scenario, ctx, plane, consumer, scenarios.BY_NAME[name],
                                           profile=(name == "lameduck-readiness-gate" and consumer == "clusterip")):
                               (consumer, name)
                               for consumer, name in interleaved(runs_on(args, plane))}
                    try:
                        finished = list(concurrent.futures.as_completed(futures))
                    except KeyboardInterrupt:
                        STOP.set()  # the pool's exit waits for the running scenarios, which now stop and clean up
                        pool.shutdown(wait=False, cancel_futures=True)
                        log("interrupted: stopping the scenarios (their load and watches), then the cluster")
                        raise
                    for future in finished:
                        consumer, name = futures[future]
                        try:
                            results.append(future.result())
                        except Exception as e:
                            log(f"{plane}/{consumer}/{name} failed: {e}")
                            traceback.print_exc()
                            results.append({"plane": plane, "consumer": consumer, "scenario": name, "error": str(e),
                                            "diagnostics": diagnose(kube, namespace(plane, consumer, name), args.out, consumer)})
                if plane == args.planes[-1] and args.idle and any(scenarios.BY_NAME[n].lameduck for n in args.scenarios):
                    check_stop("idle agents")
                    try:
                        meta_idle = steady.measure_idle(kube, "b-idle", images, args.replicas, IDLE_AFTER, args.idle, log)
                    except Exception as e:  # the scenarios' results are still written
                        idle_error = str(e)
                        log(f"idle agents failed: {e}")
                        traceback.print_exc()
            finally:
                kube.stop_proxy()
    finally:
        if not args.keep:
            try:
                l7("down")
            finally:
                cluster("down", timeout=300)
        shutil.rmtree(workdir, ignore_errors=True)
    order = {n: i for i, n in enumerate(s.name for s in scenarios.ALL)}
    results.sort(key=lambda r: (list(PLANES).index(r["plane"]), list(CONSUMERS).index(r["consumer"]), order[r["scenario"]]))
    os.makedirs(args.out, exist_ok=True)
    meta: Meta = {"date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "minutes": round((datetime.now(timezone.utc) - started).total_seconds() / 60, 1),
            "command": "scripts/bench.sh " + " ".join(argv), "machine": machine(), "versions": env_versions,
            "settings": {k: v for k, v in vars(args).items() if k not in ("out", "keep")},
            "planes": {p: PLANES[p] for p in args.planes},
            "consumers": {c: proxy_delay(c) for c in args.consumers},
            "no_redispatch": [c for c in args.consumers if (p := CONSUMERS[c]) and not p.redispatch]}
    if meta_idle:
        meta["idle"] = meta_idle
    path = report.write(args.out, meta, results)
    log(f"wrote {path}")
    broken = [r for r in results if "error" in r]
    dropped = [r for r in results if r.get("lameduck") and any(q["failed"] for q in r["requests"].values())]
    for r in broken:
        log(f"FAILED to measure {r['plane']}/{r['consumer']}/{r['scenario']}: {r['error']}")
    if idle_error:
        log(f"FAILED to measure the idle agents: {idle_error}")
    for r in dropped:
        log(f"LAMEDUCK DROPPED REQUESTS in {r['plane']}/{r['consumer']}/{r['scenario']}: "
            f"{ {k: q['failures'] for k, q in r['requests'].items()} }")
    return 1 if broken or dropped or idle_error else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
