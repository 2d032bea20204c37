package io.lameduck.restart;

import java.util.Optional;

/**
 * One container of the pod as its status in the API shows it (main containers and native sidecars).
 *
 * @param restartCount how often the kubelet has restarted it
 * @param running whether it is running now (not waiting, not terminated)
 * @param ready whether the kubelet counts it ready (its readiness probe passes, or it has none and runs)
 * @param lastExit how its last run ended, e.g. {@code OOMKilled (exit 137) at 2026-12-05T08:00:00Z}; empty if it never ended
 */
public record ContainerState(String name, int restartCount, boolean running, boolean ready, Optional<String> lastExit) {}
