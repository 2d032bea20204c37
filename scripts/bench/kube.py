"""The cluster as the benchmark sees it: kubectl/helm commands, and watches of pods and EndpointSlices that
record, per pod, when each step of its termination was observed (monotonic and wall-clock time)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class CommandFailed(RuntimeError):
    pass


def run(argv: list[str], timeout: float, env: Optional[dict[str, str]] = None, check: bool = True) -> str:
    """Runs argv with a bound; returns stdout. Raises CommandFailed with the output when it fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise CommandFailed(f"{' '.join(argv[:6])} ... took longer than {timeout}s") from e
    if check and done.returncode != 0:
        raise CommandFailed(f"{' '.join(argv[:8])} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


class Kube:
    """kubectl and helm against the benchmark cluster, and an authenticated-free local proxy for watches."""

    def __init__(self, kubectl: str, helm: str, kubeconfig: str) -> None:
        self.kubectl_bin = kubectl
        self.helm_bin = helm
        self.kubeconfig = kubeconfig
        self._proxy: Optional[subprocess.Popen[str]] = None
        self.base: Optional[str] = None  # the proxy's URL once started

    def kubectl(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        return run([self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args], timeout, check=check)

    def helm(self, *args: str, timeout: float = 300) -> str:
        return run([self.helm_bin, "--kubeconfig", self.kubeconfig, *args], timeout)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def start_proxy(self) -> None:
        # kubectl proxy on an ephemeral loopback port: plain HTTP watches from Python, no client certificates.
        self._proxy = subprocess.Popen([self.kubectl_bin, "--kubeconfig", self.kubeconfig, "proxy", "--port=0"],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self._proxy.stdout is not None
        line = self._proxy.stdout.readline()
        if "127.0.0.1:" not in line:
            raise CommandFailed(f"kubectl proxy did not start: {line}")
        self.base = "http://127.0.0.1:" + line.strip().rsplit(":", 1)[1]

    def stop_proxy(self) -> None:
        if self._proxy:
            self._proxy.terminate()
            self._proxy.wait(10)


@dataclass
class PodTrack:
    """What the watches saw of one pod. Times are time.monotonic() unless named *_wall."""
    name: str
    uid: str
    created: float
    ip: str = ""
    ready: Optional[float] = None
    deleted: Optional[float] = None
    deleted_wall: Optional[float] = None
    exited: Optional[float] = None
    gone: Optional[float] = None
    gone_wall: Optional[float] = None
    not_serving: Optional[float] = None
    container_ids: dict[str, str] = field(default_factory=dict)  # container name -> id (without the runtime prefix)

    def termination_seconds(self) -> Optional[float]:
        """Deletion → every container exited (or the pod gone, if that was seen first)."""
        end = min(t for t in (self.exited, self.gone) if t is not None) if (self.exited or self.gone) else None
        return None if self.deleted is None or end is None else end - self.deleted

    def not_serving_seconds(self) -> Optional[float]:
        """Deletion → the pod's endpoint seen not serving (or gone) on its Service's EndpointSlices."""
        return None if self.deleted is None or self.not_serving is None else max(0.0, self.not_serving - self.deleted)


class NamespaceWatch:
    """Watches one namespace's pods and EndpointSlices in background threads."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.pods: dict[str, PodTrack] = {}
        self.lock = threading.Lock()
        self._serving: dict[str, dict[str, bool]] = {}  # slice name -> {pod name: serving}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(path, handler, listed), daemon=True)
                         for path, handler, listed in (
            (f"/api/v1/namespaces/{namespace}/pods", self._pod_event, self._pods_listed),
            (f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices", self._slice_event, self._slices_listed))]

    def start(self) -> NamespaceWatch:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self, path: str, handler: Callable[[str, Any], None], listed: Callable[[set[str]], None]) -> None:
        while not self._stop.is_set():
            try:
                if self.kube.base is None:
                    raise CommandFailed("kubectl proxy not started")
                with urllib.request.urlopen(self.kube.base + path, timeout=30) as listing:
                    items = json.load(listing)
                for item in items["items"]:
                    handler("ADDED", item)
                listed({item["metadata"]["name"] for item in items["items"]})
                rv = items["metadata"]["resourceVersion"]
                url = f"{self.kube.base}{path}?watch=1&resourceVersion={rv}&timeoutSeconds=60&allowWatchBookmarks=false"
                with urllib.request.urlopen(url, timeout=90) as stream:
                    for line in stream:
                        if self._stop.is_set():
                            return
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            break
                        handler(event["type"], event["object"])
            except Exception:  # a dropped watch is re-listed; what was seen is kept
                time.sleep(0.2)

    def _pod_event(self, kind: str, pod: Any) -> None:
        now, wall = time.monotonic(), time.time()
        meta, status = pod["metadata"], pod.get("status", {})
        with self.lock:
            track = self.pods.get(meta["name"])
            if track is None:
                track = self.pods[meta["name"]] = PodTrack(meta["name"], meta["uid"], now)
            track.ip = status.get("podIP", track.ip) or track.ip
            for c in status.get("containerStatuses", []) + status.get("initContainerStatuses", []):
                if c.get("containerID"):
                    track.container_ids[c["name"]] = c["containerID"].split("://", 1)[-1]
            if track.ready is None and any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])):
                track.ready = now
            if kind == "DELETED" and track.gone is None:
                track.gone, track.gone_wall = now, wall
            if meta.get("deletionTimestamp") and track.deleted is None:
                track.deleted, track.deleted_wall = now, wall
            # Native sidecars are init containers; plain init containers are terminated (completed) already.
            statuses = status.get("containerStatuses", []) + status.get("initContainerStatuses", [])
            if track.deleted and track.exited is None and statuses and all("terminated" in c.get("state", {}) for c in statuses):
                track.exited = now
            self._update_serving(now)

    def _pods_listed(self, names: set[str]) -> None:
        """A (re-)list: a pod deleted between the end of one watch (they time out every 60 s) and the next list sent no
        DELETED event to anyone; absent from the list, it is gone, seen now."""
        now, wall = time.monotonic(), time.time()
        with self.lock:
            for track in self.pods.values():
                if track.gone is None and track.name not in names:
                    track.gone, track.gone_wall = now, wall
            self._update_serving(now)

    def _slices_listed(self, names: set[str]) -> None:
        """A (re-)list: slices deleted while no watch ran are dropped, as their DELETED event would have."""
        with self.lock:
            for name in [n for n in self._serving if n not in names]:
                del self._serving[name]
            self._update_serving(time.monotonic())

    def _slice_event(self, kind: str, slice_: Any) -> None:
        now = time.monotonic()
        with self.lock:
            name = slice_["metadata"]["name"]
            if kind == "DELETED":
                self._serving.pop(name, None)
            else:
                self._serving[name] = {e["targetRef"]["name"]: bool(e.get("conditions", {}).get("serving", True))
                                       for e in slice_.get("endpoints") or [] if e.get("targetRef")}
            self._update_serving(now)

    def _update_serving(self, now: float) -> None:
        serving = {pod for endpoints in self._serving.values() for pod, s in endpoints.items() if s}
        for track in self.pods.values():
            if track.deleted is not None and track.not_serving is None and track.name not in serving:
                track.not_serving = now

    def snapshot(self) -> dict[str, PodTrack]:
        with self.lock:
            return {name: PodTrack(**vars(t)) for name, t in self.pods.items()}

    def terminating(self) -> list[str]:
        with self.lock:
            return [t.name for t in self.pods.values() if t.deleted is not None and t.gone is None]

    def live(self) -> list[PodTrack]:
        with self.lock:
            return [t for t in self.pods.values() if t.deleted is None and t.gone is None]
