"""The ways of terminating a pod that the benchmark compares: nothing, Kubernetes' own preStop sleep (5, 10, 15,
20 s), and Lameduck (each withdrawal strategy, and as a native sidecar). Each deploys the same demo app."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from kube import Kube

Manifest = dict[str, Any]  # a Kubernetes object (or List) as JSON

APP_PORT = 8080
GRACE_SECONDS = 30
# The chart's example probes the app every 5 s and requests 10m CPU; the baselines do the same so only the
# preStop differs.
APP_PROBE_PERIOD = 5


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    sleep_seconds: Optional[int] = None  # baselines: preStop sleep (None: no preStop)
    chart_values: Optional[tuple[tuple[str, str], ...]] = None  # Lameduck: extra helm --set values (key, value)

    @property
    def lameduck(self) -> bool:
        return self.chart_values is not None

    @property
    def deployment(self) -> str:
        return "ld-lameduck-example" if self.lameduck else "app"

    def deploy(self, kube: Kube, namespace: str, images: dict[str, str], replicas: int) -> None:
        """images: image name by role (agent, demo, ...), as scripts/images.sh prints them."""
        if self.lameduck:
            self._install_chart(kube, namespace, images, replicas)
        else:
            _apply(kube, namespace, self._baseline(images["demo"], replicas))
        kube.kubectl("rollout", "status", f"deployment/{self.deployment}", "-n", namespace, "--timeout=240s", timeout=250)

    def service_url(self, kube: Kube, namespace: str) -> str:
        service = kube.get_json("service", self.deployment, "-n", namespace)
        port = service["spec"]["ports"][0]["port"]
        return f"http://{service['spec']['clusterIP']}:{port}"

    def expose(self, kube: Kube, namespace: str, ingress_class: str, host: str) -> None:
        """An Ingress of class `ingress_class` (an L7 consumer of scripts/l7.sh) routing `host` to the Service."""
        service = kube.get_json("service", self.deployment, "-n", namespace)
        backend = {"service": {"name": self.deployment, "port": {"number": service["spec"]["ports"][0]["port"]}}}
        _apply(kube, namespace, {
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "bench", "annotations": {"kubernetes.io/ingress.class": ingress_class}},
            "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}]}})

    def _install_chart(self, kube: Kube, namespace: str, images: dict[str, str], replicas: int) -> None:
        assert self.chart_values is not None
        agent_repo, agent_tag = images["agent"].rsplit(":", 1)
        demo_repo, demo_tag = images["demo"].rsplit(":", 1)
        values = [("image.repository", agent_repo), ("image.pullPolicy", "Never"), ("example.enabled", "true"),
                  ("example.replicas", str(replicas)), ("example.image.repository", demo_repo),
                  ("example.image.pullPolicy", "Never"), ("example.terminationGracePeriodSeconds", str(GRACE_SECONDS)),
                  ("example.strategy.type", "RollingUpdate"),
                  ("example.strategy.rollingUpdate.maxUnavailable", "0"),
                  ("example.strategy.rollingUpdate.maxSurge", "1"), *self.chart_values]
        args = ["install", "ld", "helm/lameduck", "--namespace", namespace, "--wait", "--timeout", "4m"]
        for key, value in values:
            args += ["--set", f"{key}={value}"]
        # Image tags are hashes: --set would turn an all-digit one into a number.
        args += ["--set-string", f"image.tag={agent_tag}", "--set-string", f"example.image.tag={demo_tag}"]
        kube.helm(*args, timeout=300)

    def _baseline(self, image: str, replicas: int) -> Manifest:
        labels = {"app": "app"}
        container: Manifest = {
            "name": "app", "image": image, "imagePullPolicy": "Never",
            "ports": [{"name": "http", "containerPort": APP_PORT}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": APP_PROBE_PERIOD},
            # as the chart's example app: the same CPU share when the node is busy (BestEffort would get far less)
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        }
        if self.sleep_seconds is not None:
            container["lifecycle"] = {"preStop": {"sleep": {"seconds": self.sleep_seconds}}}
        deployment = {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": GRACE_SECONDS, "containers": [container]}}}}
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app"},
                   "spec": {"selector": labels, "ports": [{"name": "http", "port": APP_PORT, "targetPort": "http"}]}}
        return {"apiVersion": "v1", "kind": "List", "items": [deployment, service]}


def _apply(kube: Kube, namespace: str, manifest: Manifest) -> None:
    done = subprocess.run([kube.kubectl_bin, "--kubeconfig", kube.kubeconfig, "apply", "-n", namespace, "-f", "-"],
                          input=json.dumps(manifest), capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl apply failed: {done.stderr[-1000:]}")


ALL = [
    Scenario("no-prestop", "no preStop"),
    Scenario("sleep-5", "preStop sleep 5", sleep_seconds=5),
    Scenario("sleep-10", "preStop sleep 10", sleep_seconds=10),
    Scenario("sleep-15", "preStop sleep 15", sleep_seconds=15),
    Scenario("sleep-20", "preStop sleep 20", sleep_seconds=20),
    Scenario("lameduck-readiness-gate", "Lameduck readiness-gate", chart_values=(("withdraw.strategy", "readiness-gate"),)),
    Scenario("lameduck-label", "Lameduck label", chart_values=(("withdraw.strategy", "label"),)),
    Scenario("lameduck-probe", "Lameduck probe", chart_values=(("withdraw.strategy", "probe"),)),
    Scenario("lameduck-native", "Lameduck native sidecar", chart_values=(("withdraw.strategy", "readiness-gate"),
                                                                          ("sidecar.native", "true"))),
    # The app starts leaving as the drain starts (a hook at the trigger: the demo app's POST /drain makes it answer
    # Connection: close), so keep-alive clients reconnect and every consumer's lateness shows as new connections.
    Scenario("lameduck-leave-early", "Lameduck readiness-gate, app leaves at the trigger",
             chart_values=(("withdraw.strategy", "readiness-gate"), ("config.drain.hooks[0].name", "leave"),
                           ("config.drain.hooks[0].type", "http"), ("config.drain.hooks[0].at", "trigger"),
                           ("config.drain.hooks[0].timeout", "2s"),
                           ("config.drain.hooks[0].url", "http://127.0.0.1:8080/drain"))),
    # The chart's default keepAliveWait (8 s) waits for an L7 consumer that lags; a pod called only through
    # kube-proxy can set it low: requests on keep-alive connections pinned by conntrack then stop counting sooner.
    Scenario("lameduck-keepalive-2s", "Lameduck readiness-gate, keepAliveWait 2s",
             chart_values=(("withdraw.strategy", "readiness-gate"), ("config.drain.propagation.keepAliveWait", "2s"))),
    # The other way: a consumer known to lag longer than the default (the bench's lagging proxies: up to about 11 s
    # after the change) is waited for on its pooled connections, at the cost of waiting as long for pinned clients.
    Scenario("lameduck-keepalive-12s", "Lameduck readiness-gate, keepAliveWait 12s",
             chart_values=(("withdraw.strategy", "readiness-gate"), ("config.drain.propagation.keepAliveWait", "12s"))),
]
BY_NAME = {s.name: s for s in ALL}
