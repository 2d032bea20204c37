"""The cluster as the benchmark sees it: kubectl/helm commands, and watches of pods and EndpointSlices that
record, per pod, when each step of its termination was observed (monotonic and wall-clock time)."""

import json
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field


class CommandFailed(RuntimeError):
    pass


def run(argv, timeout, env=None, check=True):
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

    def __init__(self, kubectl, helm, kubeconfig):
        self.kubectl_bin = kubectl
        self.helm_bin = helm
        self.kubeconfig = kubeconfig
        self._proxy = None
        self.base = None

    def kubectl(self, *args, timeout=60, check=True):
        return run([self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args], timeout, check=check)

    def helm(self, *args, timeout=300):
        return run([self.helm_bin, "--kubeconfig", self.kubeconfig, *args], timeout)

    def get_json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def start_proxy(self):
        # kubectl proxy on an ephemeral loopback port: plain HTTP watches from Python, no client certificates.
        self._proxy = subprocess.Popen([self.kubectl_bin, "--kubeconfig", self.kubeconfig, "proxy", "--port=0"],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self._proxy.stdout.readline()
        if "127.0.0.1:" not in line:
            raise CommandFailed(f"kubectl proxy did not start: {line}")
        self.base = "http://127.0.0.1:" + line.strip().rsplit(":", 1)[1]

    def stop_proxy(self):
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
    ready: float = None
    deleted: float = None
    deleted_wall: float = None
    exited: float = None
    gone: float = None
    gone_wall: float = None
    not_serving: float = None
    container_ids: dict = field(default_factory=dict)

    def termination_seconds(self):
        """Deletion → every container exited (or the pod gone, if that was seen first)."""
        end = min(t for t in (self.exited, self.gone) if t is not None) if (self.exited or self.gone) else None
        return None if self.deleted is None or end is None else end - self.deleted

    def not_serving_seconds(self):
        return None if self.deleted is None or self.not_serving is None else max(0.0, self.not_serving - self.deleted)


class NamespaceWatch:
    """Watches one namespace's pods and EndpointSlices in background threads."""

    def __init__(self, kube, namespace):
        self.kube = kube
        self.namespace = namespace
        self.pods = {}
        self.lock = threading.Lock()
        self._serving = {}  # slice name -> {pod name: serving}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(path, handler), daemon=True) for path, handler in (
            (f"/api/v1/namespaces/{namespace}/pods", self._pod_event),
            (f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices", self._slice_event))]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()

    def _loop(self, path, handler):
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.kube.base + path, timeout=30) as listing:
                    items = json.load(listing)
                for item in items["items"]:
                    handler("ADDED", item)
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

    def _pod_event(self, kind, pod):
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

    def _slice_event(self, kind, slice_):
        now = time.monotonic()
        with self.lock:
            name = slice_["metadata"]["name"]
            if kind == "DELETED":
                self._serving.pop(name, None)
            else:
                self._serving[name] = {e["targetRef"]["name"]: bool(e.get("conditions", {}).get("serving", True))
                                       for e in slice_.get("endpoints") or [] if e.get("targetRef")}
            self._update_serving(now)

    def _update_serving(self, now):
        serving = {pod for endpoints in self._serving.values() for pod, s in endpoints.items() if s}
        for track in self.pods.values():
            if track.deleted is not None and track.not_serving is None and track.name not in serving:
                track.not_serving = now

    def snapshot(self):
        with self.lock:
            return {name: PodTrack(**vars(t)) for name, t in self.pods.items()}

    def terminating(self):
        with self.lock:
            return [t.name for t in self.pods.values() if t.deleted is not None and t.gone is None]

    def live(self):
        with self.lock:
            return [t for t in self.pods.values() if t.deleted is None and t.gone is None]
