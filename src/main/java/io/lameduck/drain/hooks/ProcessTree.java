package io.lameduck.drain.hooks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Kills a process together with everything it started. A hook's program is started as the leader of a process group
 * of its own ({@link Setsid}), so what it left behind is still found after it exited, when its children
 * have been re-parented and no longer descend from it: background jobs and double-forked processes that did not
 * leave the group. Only a process that starts a new session ({@code setsid}, as daemons do) escapes; it is then the
 * container's (PID 1, tini in the image, reaps it; stopping the container kills it).
 */
final class ProcessTree {
    /** Rounds of killing descendants: a shell may start its next command when the current one dies. */
    private static final int KILL_ROUNDS = 3;
    private static final Duration EXIT_POLL = Duration.ofMillis(10);

    private ProcessTree() {}

    /**
     * Kills {@code root}'s descendants, then {@code root}, and waits up to {@code grace} for all of them to be gone.
     * Descendants go first because once the root dies they are re-parented and can no longer be found from it.
     *
     * @return the pids still running after {@code grace} (empty when the whole tree is gone)
     */
    static List<Long> kill(ProcessHandle root, Duration grace) {
        List<ProcessHandle> killed = new ArrayList<>();
        for (int round = 0; round < KILL_ROUNDS; round++) {
            List<ProcessHandle> running = root.descendants().filter(p -> !isGone(p)).collect(Collectors.toList());
            if (running.isEmpty()) {
                break;
            }
            // Deepest first (descendants() lists parents before their children), so no parent outlives a child
            // long enough to react to its death.
            for (int i = running.size() - 1; i >= 0; i--) {
                running.get(i).destroyForcibly();
            }
            killed.addAll(running);
        }
        root.destroyForcibly();
        killed.add(root);
        return awaitGone(killed, grace);
    }

    /**
     * Kills every process still in the process group {@code leader} led (its pid is the group id), descendants of
     * it or not, and waits up to {@code grace} for them to be gone. A group's id is never reused while a member
     * lives, so this cannot hit a stranger.
     *
     * @return the pids killed (empty when the group was empty)
     */
    static List<Long> killGroup(long leader, Duration grace) {
        List<ProcessHandle> members = new ArrayList<>();
        for (int round = 0; round < KILL_ROUNDS; round++) {
            List<ProcessHandle> running = ProcessHandle.allProcesses()
                    .filter(p -> p.pid() != ProcessHandle.current().pid() && processGroup(p.pid()) == leader && !isGone(p))
                    .collect(Collectors.toList());
            if (running.isEmpty()) {
                break;
            }
            running.forEach(ProcessHandle::destroyForcibly);
            members.addAll(running);
        }
        awaitGone(members, grace);
        return members.stream().map(ProcessHandle::pid).distinct().collect(Collectors.toList());
    }

    /** The process group of {@code pid} from /proc/pid/stat ("pid (comm) S ppid pgrp ..."), -1 when unknown. */
    static long processGroup(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 4);
            return Long.parseLong(fields[2]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Whether the process has ended. A zombie has: it runs nothing and holds nothing but its pid until its parent
     * (often PID 1 of the container, which may never do it) reaps it, yet {@link ProcessHandle#isAlive} counts it.
     */
    static boolean isGone(ProcessHandle process) {
        if (!process.isAlive()) {
            return true;
        }
        try {
            // "pid (comm) S ...": the state follows the last ')', since comm itself may contain one.
            String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"), StandardCharsets.UTF_8);
            int end = stat.lastIndexOf(')');
            return end >= 0 && end + 2 < stat.length() && stat.charAt(end + 2) == 'Z';
        } catch (IOException e) {
            return !process.isAlive(); // gone in between, or no /proc: trust isAlive
        }
    }

    private static List<Long> awaitGone(List<ProcessHandle> processes, Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        List<ProcessHandle> running = processes;
        while (true) {
            running = running.stream().filter(p -> !isGone(p)).collect(Collectors.toList());
            if (running.isEmpty() || System.nanoTime() - deadline >= 0) {
                return running.stream().map(ProcessHandle::pid).distinct().collect(Collectors.toList());
            }
            try {
                TimeUnit.NANOSECONDS.sleep(EXIT_POLL.toNanos());
            } catch (InterruptedException e) {
                // Interrupted again while cleaning up: stop waiting, keep the interrupt for the caller.
                Thread.currentThread().interrupt();
                return running.stream().map(ProcessHandle::pid).distinct().collect(Collectors.toList());
            }
        }
    }
}
