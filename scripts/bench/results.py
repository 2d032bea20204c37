"""The shape of one benchmark run's results, as bench.py builds them, report.py reads them and benchmarks.json
keeps them."""

from __future__ import annotations

from typing import Any, Optional, TypedDict

from load import AttackSummary
from measure import DrainReport, PhaseFootprint
from steady import SteadyIdle


class ReadyzWindow(TypedDict, total=False):
    """/readyz of one pod while it drained (from its deletion to its drain's end); only `requests` when the window
    is unknown."""
    requests: int
    answered: int  # answered 200 or 503
    seconds: float
    codes: list[int]
    p50_ms: Optional[float]
    p99_ms: Optional[float]
    max_ms: Optional[float]
    unanswered: list[str]  # the first three requests not answered: when (s after the deletion) and vegeta's error


class _PodIdentity(TypedDict):
    name: str
    deleted_at: Optional[float]  # epoch seconds
    gone_at: Optional[float]
    termination_seconds: Optional[float]
    not_serving_seconds: Optional[float]


class PodRecord(_PodIdentity, total=False):
    """One terminated pod, for a look at what happened (e.g. which pod's drain preceded a failed request)."""
    drain_report: Optional[str]  # the id of its agent's drain report (none in runs before 2026-12-06's seventh session)


class _Identity(TypedDict):
    plane: str
    scenario: str


class ScenarioResult(_Identity, total=False):
    """One scenario on one data plane through one consumer: either measured (every key but error and diagnostics)
    or not (plane, consumer, scenario, error, diagnostics). Results of runs before consumers existed have none."""
    consumer: str
    error: str
    diagnostics: str  # path of the failed scenario's diagnostics file
    label: str
    lameduck: bool
    sleep_seconds: Optional[int]
    rollouts: int
    rollout_seconds_median: Optional[float]
    terminations: int
    requests: dict[str, AttackSummary]  # by attack: keepalive, no_keepalive, post_keepalive
    failure_after_deletion_seconds: list[tuple[Optional[float], str]]  # (s after the latest deletion, class)
    termination_seconds: list[Optional[float]]
    not_serving_seconds: list[Optional[float]]
    drain_seconds: list[Optional[float]]
    steps: dict[str, list[Optional[float]]]  # withdraw, propagate, hooks: per drain
    drain_outcomes: list[str]
    ready_seconds: list[float]
    ready_cpu_seconds: list[float]
    footprint: Optional[dict[str, PhaseFootprint]]  # by phase, for the profiled scenario only
    readyz: list[ReadyzWindow]
    pods: list[PodRecord]
    drain_reports: list[DrainReport]


class Machine(TypedDict):
    cpus: Optional[int]
    cpu_model: str
    memory_gib: float
    kernel: str
    python: str


class Versions(TypedDict, total=False):
    kubernetes: str
    containerd: str
    vegeta: str
    commit: str
    images: dict[str, str]  # image name by role


class _MetaRequired(TypedDict):
    date: str
    minutes: float
    command: str
    machine: Machine
    versions: Optional[Versions]
    settings: dict[str, Any]  # the parsed arguments but --out and --keep
    planes: dict[str, str]  # plane -> kube-proxy --iptables-min-sync-period


class Meta(_MetaRequired, total=False):
    """The run's set-up, and what was measured across scenarios. `consumers` (consumer -> the L7 proxy's update
    delay, None for the ClusterIP) is absent from runs before consumers existed; `no_redispatch` (the L7 consumers
    that do not resend a refused connection's request to another pod) from runs before there was one."""
    consumers: dict[str, Optional[str]]
    no_redispatch: list[str]
    idle: SteadyIdle  # idle agents in steady state after the scenarios (absent: not measured)


def consumer_of(r: ScenarioResult) -> str:
    return r.get("consumer", "clusterip")  # results of runs before consumers existed


def failed(r: ScenarioResult) -> int:
    """Failed requests of a measured scenario, over its attacks."""
    return sum(q["failed"] for q in r["requests"].values())


def sent(r: ScenarioResult) -> int:
    """Requests a measured scenario sent, over its attacks."""
    return sum(q["sent"] for q in r["requests"].values())


def sleep_seconds(r: ScenarioResult) -> Optional[int]:
    """The preStop sleep of a baseline scenario; None for the others."""
    if r.get("sleep_seconds") is not None:
        return r["sleep_seconds"]
    return int(r["scenario"].split("-")[1]) if r["scenario"].startswith("sleep-") else None


def shortest_safe_sleep(rows: list[ScenarioResult]) -> Optional[ScenarioResult]:
    """The run of the shortest preStop sleep that failed no request among rows, or None."""
    safe = [r for r in rows if "error" not in r and sleep_seconds(r) is not None and failed(r) == 0]
    return min(safe, key=lambda r: sleep_seconds(r) or 0) if safe else None
