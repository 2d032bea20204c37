"""BENCHMARKS.md, its chart (matplotlib) and the raw results, from one run of the benchmark."""

from __future__ import annotations

import json
import os
from typing import Callable, Iterable, Literal, Mapping, Optional, Sequence

import goals
from load import AttackSummary
from measure import instant, median, percentile
from results import Meta, ScenarioResult, consumer_of, failed, sent, shortest_safe_sleep, sleep_seconds
from steady import SteadyIdle, summary_lines

CHART = "benchmarks.png"
RAW = "benchmarks.json"
PLANE_TEXT = {"fast": "fast data plane", "slow": "slow data plane"}
CONSUMER_TEXT = {"clusterip": "through the ClusterIP (kube-proxy)",
                 "l7": "through the L7 proxy as shipped (HAProxy Ingress, pooled keep-alive to the pods)",
                 "l7-lagging": "through the L7 proxy lagging (HAProxy Ingress applying endpoint changes 10 s late)",
                 "l7-lagging-noretry": "through the L7 proxy lagging without retries (HAProxy Ingress applying "
                                       "endpoint changes 10 s late, not resending a refused connection's request)"}
ATTACK_TEXT = (("keepalive", "GET keep-alive"), ("no_keepalive", "GET new connections"), ("post_keepalive", "POST keep-alive"))


def per_attack(r: ScenarioResult, key: Literal["sent", "failed"]) -> str:
    """"a / b / c" over the attacks of the run (– for an attack it did not have)."""
    q = r["requests"]
    return " / ".join(str(q[k][key]) if k in q else "–" for k, _ in ATTACK_TEXT)


def fmt(value: Optional[float], unit: str = "", digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def spread(values: Iterable[Optional[float]], unit: str = " s") -> str:
    """median / p95 of a list, as text."""
    present = [v for v in values if v is not None]
    if not present:
        return "–"
    return f"{fmt(median(present))} / {fmt(percentile(present, 95))}{unit}"


def failures(requests: Mapping[str, AttackSummary]) -> str:
    """The failures of every attack by class, e.g. "3 refused, 1 5xx"; "none"."""
    total: dict[str, int] = {}
    for r in requests.values():
        for kind, n in r["failures"].items():
            total[kind] = total.get(kind, 0) + n
    text = ", ".join(f"{n} {kind}" for kind, n in total.items() if n)
    return text or "none"


def when(offsets: Sequence[tuple[Optional[float], str]]) -> str:
    """Failures' seconds after the latest deletion before each, (offset or None, class) pairs, as
    "median [min–max]" and how many came before any deletion."""
    seconds = [o for o, _ in offsets if o is not None]
    before = sum(1 for o, _ in offsets if o is None)
    if not seconds:
        return "–" if not before else f"{before} before any deletion"
    text = f"{fmt(median(seconds))} [{fmt(min(seconds))}–{fmt(max(seconds))}]"
    return text + (f"; {before} before any deletion" if before else "")


def write(out: str, meta: Meta, results: list[ScenarioResult], rendered: Optional[str] = None) -> str:
    """Writes the raw results, the chart and BENCHMARKS.md into `out`; returns the path of BENCHMARKS.md.

    rendered: when the report is rendered again from an earlier run's raw results (`--report-only`), what did it
    and when; the measurements stay those of that run. The report is rendered before anything is written, so results
    it cannot render (KeyError, TypeError, ...) leave `out` as it was."""
    text = markdown(meta, results, rendered)
    with open(os.path.join(out, RAW), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1, default=str)
    chart(os.path.join(out, CHART), [r for r in results if "error" not in r], meta)
    path = os.path.join(out, "BENCHMARKS.md")
    with open(path, "w") as f:
        f.write(text)
    return path


def chart(path: str, results: list[ScenarioResult], meta: Meta) -> None:
    import matplotlib  # only here: the rest of the report (and its tests) needs no matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [(p, c) for p in meta["planes"] for c in meta.get("consumers", {"clusterip": None})
              if any(r["plane"] == p and consumer_of(r) == c for r in results)]
    labels = list(dict.fromkeys(r["label"] for r in results))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    width = 0.8 / max(len(series), 1)
    palette = ["#4878a8", "#88b0d8", "#1c3c64", "#d8843a", "#f0b880", "#8c4c10"]
    for j, (plane, consumer) in enumerate(series):
        rows = {r["label"]: r for r in results if r["plane"] == plane and consumer_of(r) == consumer}
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(labels))]
        counts = [failed(rows[l]) if l in rows else 0 for l in labels]
        color = palette[j % len(palette)]
        bars = top.bar(xs, counts, width, label=f"{plane} ({meta['planes'][plane]} kube-proxy sync), {consumer}", color=color)
        for bar, n in zip(bars, counts):
            top.annotate(f"{n}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=7)
        med = [median(rows[l]["termination_seconds"]) if l in rows else None for l in labels]
        p95 = [percentile(rows[l]["termination_seconds"], 95) if l in rows else None for l in labels]
        bottom.bar(xs, [m or 0 for m in med], width, color=color, label=f"{plane}, {consumer}: median")
        bottom.errorbar(xs, [m or 0 for m in med], yerr=[[0] * len(med), [(p or 0) - (m or 0) for m, p in zip(med, p95)]],
                        fmt="none", ecolor="black", capsize=3, label="p95" if j == 0 else None)
    top.set_ylabel("failed requests (all rollouts)")
    top.set_title("Rollouts under load: failed requests and pod termination time per way of terminating a pod")
    top.legend(fontsize=8)
    bottom.set_ylabel("deletion → containers exited (s)")
    bottom.set_xticks(range(len(labels)))
    bottom.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    bottom.legend(fontsize=8)
    fig.text(0.01, 0.005, f"{meta['date']}, {meta['machine']['cpus']} CPUs, {meta['versions']['kubernetes'] if meta['versions'] else '?'}, "
             f"{meta['settings']['rollouts']} rollouts x {meta['settings']['replicas']} pods per scenario", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(meta: Meta, results: list[ScenarioResult], rendered: Optional[str] = None) -> str:
    m, v, s = meta["machine"], meta["versions"] or {}, meta["settings"]
    consumers = meta.get("consumers", {"clusterip": None})
    again = f" This report was rendered again from that run's `{RAW}` {rendered}: the same measurements." if rendered else ""
    out = ["# Benchmarks: rollouts under load on a real node", "",
           f"Written by `{meta['command']}` on {meta['date']} ({meta['minutes']} min).{again} Do not edit by hand: run it again.", "",
           "## Set-up", "",
           f"- Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Linux {m['kernel']}.",
           f"- Cluster: `scripts/cluster.sh`, one node: Kubernetes {v.get('kubernetes', '?')} (kubelet, kube-proxy in iptables "
           f"mode, control plane), {v.get('containerd', '?')}, runc, bridge CNI. Lameduck at commit {v.get('commit', '?')}.",
           f"- Images, built locally: {', '.join(f'`{n}`' for k, n in sorted(v.get('images', {}).items()) if k != 'base')}.",
           f"- Workload: the demo app (`demo/`, Go net/http: on SIGTERM it stops accepting, answers `Connection: close`, "
           f"closes keep-alive connections once idle for 1 s since it began leaving (never one whose next request has begun to "
           f"arrive) and finishes in-flight requests; `POST /drain` starts the `Connection: close` answers, and that clock, "
           f"before SIGTERM), {s['replicas']} replicas, `maxUnavailable: 0`, `maxSurge: 1`, "
           f"`terminationGracePeriodSeconds: 30`, readiness probe every 5 s; rolled with `kubectl rollout restart` "
           f"{s['rollouts']} times per scenario (the next rollout starts once the old pods are gone).",
           f"- Load: {v.get('vegeta', 'vegeta')}, open loop at a constant rate from inside the node's network namespace, "
           f"no retries by the load generator: three attacks per scenario at {s['rate']} requests/s each: GET with "
           f"keep-alive, GET on a new connection each, and POST (a small form body) with keep-alive. Go's HTTP client "
           f"resends a GET whose reused connection closed before any answer, never a POST, so the POST attack shows "
           f"what a client sees when a keep-alive connection closes under it. {s['slow_share']:.0%} of the requests "
           f"are slow ({s['slow']}). A request fails if it gets no 2xx/3xx answer within 10 s, classified as refused, "
           f"reset, timeout, 5xx or other.",
           "- Consumers of the endpoints (each scenario runs through each, separately): "
           + "; ".join(f"`{c}`: {consumer_line(c, w, c not in meta.get('no_redispatch', []))}"
                       for c, w in consumers.items()) + ".",
           "- Data planes: " + "; ".join(f"{p}: kube-proxy `--iptables-min-sync-period={t}`" for p, t in meta["planes"].items())
           + ". A slow data plane stands for large clusters, ingress controllers and cloud load balancers that apply "
             "endpoint changes late (it matters to the ClusterIP consumer only: the L7 proxy sends to the pod IPs).",
           f"- Scenarios ran {s['parallel']} at a time on the one node (each in its own namespace), so timings include "
           f"that contention; compare them within this run.",
           "- Termination time: from the deletion seen on a watch of the pods to all the pod's containers seen exited "
           "(or the pod gone). Not serving: from the deletion to the pod's endpoint seen `serving: false` (or gone) on "
           "its Service's EndpointSlices. Drain and its steps: the agent's own drain report.", "",
           f"![failed requests and termination time per scenario]({CHART})", ""]
    out += goals.goal_lines(meta, results, over_limit(meta))
    out += sleep_versus_lameduck(meta, results)
    out += traffic_limit(meta, results)
    for plane in meta["planes"]:
        for consumer in consumers:
            rows = [r for r in results if r["plane"] == plane and consumer_of(r) == consumer]
            if not rows:
                continue
            out += [f"## {PLANE_TEXT[plane].capitalize()} (kube-proxy sync at most every {meta['planes'][plane]}), "
                    f"{CONSUMER_TEXT[consumer]}", "",
                    "| scenario | terminations | sent (" + " / ".join(t for _, t in ATTACK_TEXT) + ") | failed (same order) | "
                    "failures by class | failures, s after the latest deletion: median [min–max] |",
                    "|---|---:|---:|---:|---|---|"]
            for r in rows:
                if "error" in r:
                    said = [l.strip() for l in r["error"].splitlines() if l.strip()]
                    why = (said[-1] if said else "?").replace("|", "/")[:160]
                    out.append(f"| {r['scenario']} | not measured: {why} (see `{r.get('diagnostics', '?')}`) | | | | |")
                    continue
                out.append(f"| {r['label']} | {r['terminations']} | {per_attack(r, 'sent')} | "
                           f"**{per_attack(r, 'failed')}** | {failures(r['requests'])} | "
                           f"{when(r.get('failure_after_deletion_seconds', []))} |")
            out += ["", "Times in seconds, median / p95:", "",
                    "| scenario | termination | not serving | drain | withdraw | propagate | hooks | rollout (median) |",
                    "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for r in rows:
                if "error" in r:
                    continue
                out.append(f"| {r['label']} | {spread(r['termination_seconds'], '')} | {spread(r['not_serving_seconds'], '')} | "
                           f"{spread(r['drain_seconds'], '')} | {spread(r['steps']['withdraw'], '')} | "
                           f"{spread(r['steps']['propagate'], '')} | {spread(r['steps']['hooks'], '')} | "
                           f"{fmt(r['rollout_seconds_median'])} |")
            out.append("")
    out += agent_section(results, meta.get("idle"))
    out += meaning(meta, results)
    return "\n".join(out) + "\n"


def consumer_line(consumer: str, wait: Optional[str], redispatch: bool) -> str:
    if consumer == "clusterip":
        return "the Service's ClusterIP (kube-proxy iptables rules, conntrack)"
    resend = ("resends a refused connection's request to another pod" if redispatch else
              "would resend a refused connection's request to another pod, which this one does not (`no option "
              "redispatch`: it retries the same pod, then answers 503), so that it keeps sending to a pod that has "
              "gone as a load balancer without retries does")
    return (f"HAProxy Ingress (`scripts/l7.sh`, haproxy 2.6) at the pod IPs with pooled keep-alive connections, "
            f"endpoint changes applied {wait} after the first change of a batch (`--wait-before-update={wait}`; "
            f"then at most one update per 2 s); as shipped it also checks each pod with a TCP connect every 2 s "
            f"(down after 3 failures) and {resend}; one setting is not as shipped: "
            f"`option idle-close-on-response`, so that the reloads other scenarios' Ingresses cause do not close "
            f"the clients' idle connections to the proxy")


def sleep_versus_lameduck(meta: Meta, results: list[ScenarioResult]) -> list[str]:
    """Per data plane and consumer: the shortest preStop sleep that failed nothing, and each Lameduck scenario's
    median termination against it."""
    lines = ["## Shortest safe sleep against Lameduck", "",
             "Per data plane and consumer: the shortest `preStop: sleep` that failed no request here, and each "
             "Lameduck scenario's median termination with its ratio to that sleep (termination ÷ sleep seconds) and "
             "to the sleep scenario's own median termination (its sleep plus the app's shutdown).", "",
             "| data plane | consumer | shortest zero-failure sleep | its median termination | Lameduck scenario | "
             "failed | median termination | ÷ sleep | ÷ sleep's termination |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|"]
    any_row = False
    for plane in meta["planes"]:
        for consumer in meta.get("consumers", {"clusterip": None}):
            rows = [r for r in results if r["plane"] == plane and consumer_of(r) == consumer and "error" not in r]
            if not rows:
                continue
            safe = shortest_safe_sleep(rows)
            measured_sleeps = sorted(x for x in map(sleep_seconds, rows) if x is not None)
            safe_sleep = sleep_seconds(safe) if safe else None
            if safe:
                sleep_text = f"{safe_sleep} s"
                sleep_term = median(safe["termination_seconds"])
            else:
                sleep_text = (f"none of {', '.join(str(x) for x in measured_sleeps)} s" if measured_sleeps
                              else "not measured")
                sleep_term = None
            lameduck: list[Optional[ScenarioResult]] = [r for r in rows if r.get("lameduck")] or [None]
            for r in lameduck:
                any_row = True
                if r is None:
                    lines.append(f"| {plane} | {consumer} | {sleep_text} | {fmt(sleep_term, ' s')} | – | | | | |")
                    continue
                term = median(r["termination_seconds"])
                ratio = term / safe_sleep if term is not None and safe_sleep else None
                ratio_term = term / sleep_term if term is not None and sleep_term else None
                lines.append(f"| {plane} | {consumer} | {sleep_text} | {fmt(sleep_term, ' s')} | {r['label']} | "
                             f"{failed(r)} | {fmt(term, ' s')} | {fmt(ratio, '', 2)} | {fmt(ratio_term, '', 2)} |")
    return lines + [""] if any_row else []


def duration_seconds(text: str) -> float:
    """A Go duration as the bench's --slow takes it (1500ms, 2s) in seconds."""
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1])


def last_requests(r: ScenarioResult) -> list[tuple[float, float]]:
    """Per termination whose drain report saw a request: (seconds from the deletion to the last request the agent saw
    arrive, the termination's seconds). Each pod names its drain report (`drain_report`); a pod without one (no agent
    log) and a report without a request do not count."""
    by_id = {str(d.get("id")): d for d in r.get("drain_reports", [])}
    found: list[tuple[float, float]] = []
    for p in r.get("pods", []):
        deleted, term, drain = p["deleted_at"], p["termination_seconds"], p.get("drain_report")
        report_ = by_id.get(str(drain)) if drain else None
        last = instant(report_.get("traffic", {}).get("lastRequestAt")) if report_ else None
        if deleted is not None and term is not None and last is not None:
            found.append((max(0.0, last - deleted), term))
    return found


def over_limit(meta: Meta) -> Callable[[ScenarioResult], list[float]]:
    """Per termination of a scenario whose drain saw a request: the termination minus the limit the traffic set (the
    last request's arrival after the deletion plus the run's slowest request)."""
    slow = duration_seconds(meta["settings"].get("slow", "1500ms"))
    return lambda r: [term - (lag + slow) for lag, term in last_requests(r)]


def traffic_limit(meta: Meta, results: list[ScenarioResult]) -> list[str]:
    """What the traffic allowed: per Lameduck scenario, when the last request reached the pod after its deletion (as
    its agent saw it) plus the slowest request, against the termination."""
    slow = duration_seconds(meta["settings"].get("slow", "1500ms"))
    rows = []
    for r in results:
        if "error" in r or not r.get("lameduck"):
            continue
        seen = last_requests(r)
        if not seen:
            continue
        lags = [lag for lag, _ in seen]
        over = [term - (lag + slow) for lag, term in seen]
        rows.append(f"| {r['plane']} | {consumer_of(r)} | {r['label']} | {len(seen)} | {fmt(median(lags), ' s')} | "
                    f"{fmt(percentile(lags, 95), ' s')} | {fmt(median([lag + slow for lag in lags]), ' s')} | "
                    f"{fmt(median([term for _, term in seen]), ' s')} | {fmt(median(over), ' s')} |")
    if not rows:
        return []
    return ["## The limit the traffic sets", "",
            f"No termination can be shorter than the time the consumers keep sending requests to the pod after its "
            f"deletion, plus the slowest request ({slow:g} s here). Per Lameduck scenario, from each termination "
            f"whose drain saw a request: the last request's arrival after the deletion, as the agent saw it "
            f"(`traffic.lastRequestAt` of its report; probes and the agent's own peers do not count), that plus the "
            f"slowest request (the limit), the termination, and the termination minus that pod's limit (what the "
            f"drain's evidence of silence, the app's own exit and the kubelet's notice of it add). With the app "
            f"serving keep-alive connections until its SIGTERM, requests on them keep coming as long as it answers, "
            f"so the limit there is the drain's own choice; with the app leaving at the trigger it is the consumers'.",
            "", "| data plane | consumer | Lameduck scenario | terminations | last request after the deletion (median) "
            "| p95 | limit (median) | termination (median) | termination − limit (median) |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|", *rows, ""]


def agent_section(results: list[ScenarioResult], idle: Optional[SteadyIdle] = None) -> list[str]:
    profiled = [r for r in results if r.get("footprint")]
    lines = ["## The agent itself", ""]
    ready = [x for r in results if r.get("lameduck") for x in r.get("ready_seconds", [])]
    lines.append(f"- Time to READY in the pod (JVM start to READY, from the agent's log line, {len(ready)} pods): "
                 f"median {fmt(median(ready), ' s', 2)}, p95 {fmt(percentile(ready, 95), ' s', 2)}.")
    cpu = [x for r in results if r.get("lameduck") for x in r.get("ready_cpu_seconds", [])]
    if cpu:
        lines.append(f"- CPU spent from process start to READY in the pod (user + system, from the same log line, {len(cpu)} "
                     f"pods): median {fmt(median(cpu), ' CPU-seconds', 2)}, p95 {fmt(percentile(cpu, 95), ' CPU-seconds', 2)}.")
    for r in profiled:
        lines.append(f"- Agent container, cgroup samples every 0.5 s ({r['plane']}/{r['scenario']}; working set = "
                     f"usage − inactive file cache):")
        for phase, f in (r.get("footprint") or {}).items():
            lines.append(f"  - {phase}: memory median {fmt(f['memory_mib_median'], ' MiB')}, max "
                         f"{fmt(f['memory_mib_max'], ' MiB')}; CPU {fmt(f['cpu_millicores_mean'], ' millicores', 0)} "
                         f"({f['samples']} samples)")
        # Every drain that sent requests counts, also one where /readyz answered none; latencies come from the
        # answered ones.
        windows = [w for w in r.get("readyz", []) if w.get("requests")]
        timed = [w for w in windows if w.get("answered")]
        if windows:
            latency = (f", p50 {fmt(median([w.get('p50_ms') for w in timed]), ' ms', 2)}, p99 "
                       f"{fmt(largest([w.get('p99_ms') for w in timed]), ' ms', 2)} (worst drain), max "
                       f"{fmt(largest([w.get('max_ms') for w in timed]), ' ms', 2)}" if timed else "")
            lines.append(f"- `/readyz` at {100} requests/s (vegeta, constant rate, no keep-alive, like the kubelet) "
                         f"during {len(windows)} drains, from the deletion to the drain's end: "
                         f"{sum(w.get('answered', 0) for w in windows)} of {sum(w['requests'] for w in windows)} answered "
                         f"(codes {sorted({c for w in windows for c in w.get('codes', [])})}){latency}.")
            unanswered = [f"{w['unanswered'][0]} ({w['requests'] - w.get('answered', 0)} of {w['requests']} not answered in that drain)"
                          for w in windows if w.get("unanswered")]
            if unanswered:
                lines.append("  - not answered, the first of each such drain: " + "; ".join(unanswered[:5]) + ".")
    lines += summary_lines(idle)
    return lines + [""]


def largest(values: Iterable[Optional[float]]) -> Optional[float]:
    return max((v for v in values if v is not None), default=None)


def meaning(meta: Meta, results: list[ScenarioResult]) -> list[str]:
    ok = [r for r in results if "error" not in r]
    consumers = meta.get("consumers", {"clusterip": None})
    lines = ["## What the numbers mean", ""]
    for plane in meta["planes"]:
        for consumer in consumers:
            rows = [r for r in ok if r["plane"] == plane and consumer_of(r) == consumer]
            parts = [f"{r['label']} failed {failed(r)} of {sent(r)} requests with a median termination of "
                     f"{fmt(median(r['termination_seconds']), ' s')}" for r in rows]
            if parts:
                lines.append(f"- On the {PLANE_TEXT[plane]}, {CONSUMER_TEXT[consumer]}: " + "; ".join(parts) + ".")
    lameduck = [r for r in ok if r["lameduck"]]
    sleeps = [r for r in ok if sleep_seconds(r) is not None]
    lines.append("")
    if lameduck:
        worst = max(lameduck, key=lambda r: percentile(r["termination_seconds"], 95) or 0)
        zero = all(failed(r) == 0 for r in lameduck)
        lines.append(("Lameduck failed no request in any scenario, on any data plane and through any consumer: " if zero else
                      "Lameduck failed requests in some scenario — a bug to fix, not a number to accept: ")
                     + "its drain waits until the traffic it sees has stopped (the propagate step: new connections, and "
                       "requests on keep-alive connections until `keepAliveWait` after the endpoints turned not ready) "
                       "instead of a fixed time. Requests on keep-alive connections that never stop (a client pinned to the "
                       "pod by conntrack, a proxy reusing its idle connections) hold it for the whole `keepAliveWait`.")
    if sleeps:
        for plane in meta["planes"]:
            for consumer in consumers:
                rows = [r for r in sleeps if r["plane"] == plane and consumer_of(r) == consumer]
                if not rows:
                    continue
                shortest = shortest_safe_sleep(rows)
                if shortest:
                    lines.append(f"On the {PLANE_TEXT[plane]}, {consumer}, the shortest fixed sleep that failed nothing "
                                 f"here was {sleep_seconds(shortest)} s (median termination "
                                 f"{fmt(median(shortest['termination_seconds']), ' s')}).")
                else:
                    lines.append(f"On the {PLANE_TEXT[plane]}, {consumer}, every fixed sleep measured here failed some requests.")
        lines.append("A fixed sleep has to be sized for the slowest consumer of the endpoints, and every pod then "
                     "pays it on every termination; too short and requests fail, as above.")
    if lameduck:
        lines.append(f"Sizing `terminationGracePeriodSeconds`: it must cover the drain plus the app's own shutdown "
                     f"(its slowest in-flight request). The longest p95 termination with Lameduck here was "
                     f"{fmt(percentile(worst['termination_seconds'], 95), ' s')} ({worst['label']}, {worst['plane']}, "
                     f"{consumer_of(worst)}); the agent spends at most `drain.budget` (derived from the grace period minus "
                     f"the safety margin), so the grace period is an upper bound the drain stays inside, not a time every "
                     f"pod waits.")
    lines.append("")
    return lines
