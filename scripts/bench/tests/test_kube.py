"""kube.py: what the watches record of a pod's termination, and the times taken from it."""

import unittest
from unittest import mock

import kube
from kube import NamespaceWatch, PodTrack


class PodTrackTest(unittest.TestCase):
    def test_termination_ends_when_the_containers_exited(self):
        self.assertEqual(7.5, PodTrack("p", "u", 0.0, deleted=100.0, exited=107.5, gone=110.0).termination_seconds())

    def test_termination_ends_when_the_pod_is_gone_if_that_was_seen_first(self):
        self.assertEqual(9.0, PodTrack("p", "u", 0.0, deleted=100.0, gone=109.0).termination_seconds())
        self.assertEqual(9.0, PodTrack("p", "u", 0.0, deleted=100.0, exited=112.0, gone=109.0).termination_seconds())

    def test_no_termination_time_without_a_deletion_or_an_end(self):
        self.assertIsNone(PodTrack("p", "u", 0.0, exited=107.5).termination_seconds())
        self.assertIsNone(PodTrack("p", "u", 0.0, deleted=100.0).termination_seconds())

    def test_not_serving_after_the_deletion(self):
        self.assertAlmostEqual(1.25, PodTrack("p", "u", 0.0, deleted=100.0, not_serving=101.25).not_serving_seconds())
        self.assertIsNone(PodTrack("p", "u", 0.0, deleted=100.0).not_serving_seconds())
        self.assertIsNone(PodTrack("p", "u", 0.0, not_serving=101.0).not_serving_seconds())


def pod(name="app-1", deleting=False, ready=False, containers=None, init_containers=None):
    status = {"podIP": "10.244.0.7", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
              "containerStatuses": containers or [{"name": "app", "containerID": "containerd://c0ffee",
                                                   "state": {"running": {}}}]}
    if init_containers is not None:
        status["initContainerStatuses"] = init_containers
    metadata = {"name": name, "uid": "uid-" + name}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-05T10:00:00Z"
    return {"metadata": metadata, "status": status}


def endpoint_slice(serving):
    return {"metadata": {"name": "app-abcde"},
            "endpoints": [{"targetRef": {"name": name}, "conditions": {"serving": s}} for name, s in serving.items()]}


class NamespaceWatchTest(unittest.TestCase):
    """The watch's event handlers fed with events as the API server sends them, on a clock the test sets."""

    def setUp(self):
        patcher = mock.patch.object(kube, "time")
        self.clock = patcher.start()
        self.addCleanup(patcher.stop)
        self.watch = NamespaceWatch(kube=None, namespace="b-fast-clusterip-x")  # threads never started

    def at(self, seconds):
        self.clock.monotonic.return_value = seconds
        self.clock.time.return_value = 1_000_000 + seconds

    def test_a_pod_deleted_while_no_watch_ran_is_gone_at_the_next_list(self):
        # A watch times out every 60 s; a pod deleted before the next list starts a watch sends no DELETED event.
        self.at(1.0)
        self.watch._pod_event("ADDED", pod("app-1", ready=True))
        self.watch._pod_event("ADDED", pod("app-2", ready=True))
        self.watch._pods_listed({"app-1", "app-2"})
        self.at(4.0)
        self.watch._pod_event("MODIFIED", pod("app-1", ready=True, deleting=True))
        self.at(30.0)
        self.watch._pod_event("ADDED", pod("app-2", ready=True))
        self.watch._pods_listed({"app-2"})
        seen = self.watch.snapshot()
        self.assertEqual((30.0, 1_000_030.0), (seen["app-1"].gone, seen["app-1"].gone_wall))
        self.assertIsNone(seen["app-2"].gone)
        self.assertEqual([], self.watch.terminating())

    def test_a_slice_deleted_while_no_watch_ran_serves_nothing_after_the_next_list(self):
        self.at(1.0)
        self.watch._pod_event("ADDED", pod(ready=True))
        self.watch._slice_event("ADDED", endpoint_slice({"app-1": True}))
        self.at(2.0)
        self.watch._pod_event("MODIFIED", pod(ready=True, deleting=True))
        self.assertIsNone(self.watch.snapshot()["app-1"].not_serving)
        self.at(3.0)
        self.watch._slices_listed(set())
        self.assertEqual(3.0, self.watch.snapshot()["app-1"].not_serving)

    def test_a_pod_deleted_withdrawn_and_exited(self):
        self.at(1.0)
        self.watch._pod_event("ADDED", pod())
        self.at(2.0)
        self.watch._pod_event("MODIFIED", pod(ready=True))
        self.at(3.0)
        self.watch._slice_event("ADDED", endpoint_slice({"app-1": True}))
        self.at(4.0)
        self.watch._pod_event("MODIFIED", pod(ready=True, deleting=True))
        self.assertEqual(["app-1"], self.watch.terminating())
        self.assertEqual([], self.watch.live())
        self.at(5.5)
        self.watch._slice_event("MODIFIED", endpoint_slice({"app-1": False}))
        self.at(9.0)
        self.watch._pod_event("MODIFIED", pod(deleting=True, containers=[
            {"name": "app", "containerID": "containerd://c0ffee", "state": {"terminated": {"exitCode": 0}}}]))
        self.at(10.0)
        self.watch._pod_event("DELETED", pod(deleting=True))

        track = self.watch.snapshot()["app-1"]
        self.assertEqual((1.0, 2.0, 4.0, 5.5, 9.0, 10.0),
                         (track.created, track.ready, track.deleted, track.not_serving, track.exited, track.gone))
        self.assertEqual((1_000_004.0, 1_000_010.0), (track.deleted_wall, track.gone_wall))
        self.assertEqual("10.244.0.7", track.ip)
        self.assertEqual({"app": "c0ffee"}, track.container_ids)
        self.assertEqual(5.0, track.termination_seconds())
        self.assertEqual(1.5, track.not_serving_seconds())
        self.assertEqual([], self.watch.terminating())

    def test_a_deleted_pod_missing_from_the_slices_is_not_serving_at_once(self):
        self.at(1.0)
        self.watch._slice_event("ADDED", endpoint_slice({"app-2": True}))
        self.watch._pod_event("ADDED", pod(ready=True))
        self.at(2.0)
        self.watch._pod_event("MODIFIED", pod(ready=True, deleting=True))
        self.assertEqual(0.0, self.watch.snapshot()["app-1"].not_serving_seconds())

    def test_a_slice_deleted_stops_serving_its_pods(self):
        self.at(1.0)
        self.watch._slice_event("ADDED", endpoint_slice({"app-1": True}))
        self.watch._pod_event("ADDED", pod(ready=True))
        self.at(2.0)
        self.watch._pod_event("MODIFIED", pod(ready=True, deleting=True))
        self.assertIsNone(self.watch.snapshot()["app-1"].not_serving)
        self.at(3.0)
        self.watch._slice_event("DELETED", endpoint_slice({"app-1": True}))
        self.assertEqual(1.0, self.watch.snapshot()["app-1"].not_serving_seconds())

    def test_a_native_sidecar_still_running_keeps_the_pod_terminating(self):
        lameduck_running = [{"name": "lameduck", "containerID": "containerd://5eed", "state": {"running": {}}}]
        app_exited = [{"name": "app", "containerID": "containerd://c0ffee", "state": {"terminated": {"exitCode": 0}}}]
        self.at(1.0)
        self.watch._pod_event("ADDED", pod(deleting=True, containers=app_exited, init_containers=lameduck_running))
        self.assertIsNone(self.watch.snapshot()["app-1"].exited)
        self.assertEqual({"app": "c0ffee", "lameduck": "5eed"}, self.watch.snapshot()["app-1"].container_ids)
        self.at(3.0)
        self.watch._pod_event("MODIFIED", pod(deleting=True, containers=app_exited, init_containers=[
            {"name": "lameduck", "containerID": "containerd://5eed", "state": {"terminated": {"exitCode": 0}}}]))
        self.assertEqual(2.0, self.watch.snapshot()["app-1"].termination_seconds())


if __name__ == "__main__":
    unittest.main()
