package io.lameduck.node;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.opentest4j.TestAbortedException;

/**
 * The real single-node cluster of {@code scripts/cluster.sh} (kubelet, containerd, kube-proxy, control plane)
 * with the project's images in it, for the {@code node}-tagged tests. Started once per test JVM by the first
 * test class that uses this extension, stopped ({@code cluster.sh down}) when all tests are done, also when
 * they failed. Skips (with the reason printed) only where a node cannot run at all: not root, or no network
 * namespaces. With {@code LAMEDUCK_NODE_KEEP=1} the cluster is left running for a look around afterwards.
 */
public final class NodeCluster implements BeforeAllCallback, ParameterResolver, ExtensionContext.Store.CloseableResource, AutoCloseable {
    private static final Duration UP_TIMEOUT = Duration.ofMinutes(8);
    private static final Pattern IMAGE_LINE = Pattern.compile("^IMAGE=(\\S+) NAME=(\\S+) TAR=(\\S+)$", Pattern.MULTILINE);

    private static NodeCluster started;
    private static String skipReason;

    private Path kubeconfig;
    private KubernetesClient admin;
    private Map<String, String> images;
    private Map<String, String> tarballs;
    private Path binDir;
    private Path helm;

    @Override
    public void beforeAll(ExtensionContext context) {
        synchronized (NodeCluster.class) {
            if (skipReason == null && started == null) {
                skipReason = whyNodeCannotRun();
                if (skipReason.isEmpty()) {
                    start();
                    started = this;
                    context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL).put(NodeCluster.class, this);
                } else {
                    System.out.println("[node tests] skipped: " + skipReason);
                }
            }
            if (!skipReason.isEmpty()) {
                throw new TestAbortedException("the real-node tests cannot run here: " + skipReason);
            }
        }
    }

    private static String whyNodeCannotRun() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not root (the node needs network namespaces, mounts and cgroups)";
        }
        Command.Result netns = Command.of(Duration.ofSeconds(10), "ip", "netns", "list").run();
        if (netns.exitCode() != 0) {
            return "no network namespaces (ip netns list: " + netns.output().strip() + ")";
        }
        return "";
    }

    /**
     * One node per machine: the test run that holds this lock owns it (scripts/bench.sh takes the same lock). Two runs at
     * once would each start the node with {@code cluster.sh up}, which first stops any running one: seen, a second run's
     * {@code down} killed the first one's containerd in the middle of an image import.
     */
    static final Path LOCK = Path.of("/tmp/lameduck-cluster.lock");
    private static final Duration LOCK_WAIT = Duration.ofMinutes(30);
    private FileChannel lockFile;

    private void lock() {
        try {
            lockFile = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            long until = System.nanoTime() + LOCK_WAIT.toNanos();
            boolean told = false;
            while (lockFile.tryLock() == null) {
                if (System.nanoTime() > until) {
                    throw new IllegalStateException("another test run or benchmark has held " + LOCK + " for " + LOCK_WAIT.toMinutes()
                            + " minutes; wait for it to finish (or stop it), then run again");
                }
                if (!told) {
                    log("another test run or benchmark holds " + LOCK + ": waiting for it (at most " + LOCK_WAIT.toMinutes() + " minutes)");
                    told = true;
                }
                Thread.sleep(1000);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock " + LOCK, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for " + LOCK, e);
        }
    }

    private void start() {
        lock();
        try {
            startLocked();
        } catch (RuntimeException | Error e) {
            unlock(); // the next test class tries again, and would find this JVM's own lock in the way
            throw e;
        }
    }

    private void unlock() {
        if (lockFile != null) {
            try {
                lockFile.close(); // releases the lock
            } catch (IOException e) {
                log("cannot release " + LOCK + ": " + e.getMessage());
            }
            lockFile = null;
        }
    }

    private void startLocked() {
        long begin = System.nanoTime();
        String built = script(Duration.ofMinutes(20), "scripts/images.sh");
        images = parse(built, 2);
        tarballs = parse(built, 3);
        log("images built: " + images.values());
        script(UP_TIMEOUT, "scripts/cluster.sh", "up");
        // Exactly the images this run built (the cache's list can name others, e.g. from another checkout).
        List<String> importArgs = new ArrayList<>(List.of("scripts/cluster.sh", "import"));
        tarballs.forEach((kind, tar) -> {
            if (!kind.equals("base")) {
                importArgs.add(tar);
            }
        });
        script(Duration.ofMinutes(5), importArgs.toArray(String[]::new));
        log("cluster up in " + Duration.ofNanos(System.nanoTime() - begin).toSeconds() + " s");
        kubeconfig = Path.of(System.getenv().getOrDefault("LAMEDUCK_CLUSTER_DIR", "/var/lib/lameduck-cluster"), "admin.kubeconfig");
        helm = Path.of(lastLine(script(Duration.ofMinutes(5), "scripts/install/helm.sh")));
        binDir = Path.of(lastLine(script(Duration.ofMinutes(30), "scripts/install/kube-binaries.sh")));
        try {
            admin = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        if (admin != null) {
            admin.close();
        }
        if ("1".equals(System.getenv("LAMEDUCK_NODE_KEEP"))) {
            log("LAMEDUCK_NODE_KEEP=1: leaving the cluster up (scripts/cluster.sh down stops it)");
            return;
        }
        Command.Result down = Command.of(Duration.ofMinutes(2), "scripts/cluster.sh", "down").run();
        log("cluster down (exit " + down.exitCode() + ")");
        unlock();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == NodeCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return started;
    }

    KubernetesClient admin() {
        return admin;
    }

    /** The locally built image of a kind of scripts/images.sh (agent, demo, base, pause), as NAME:TAG. */
    String image(String kind) {
        String name = images.get(kind);
        if (name == null) {
            throw new AssertionError("scripts/images.sh built no " + kind + " image, only " + images);
        }
        return name;
    }

    /** The admin kubeconfig, for a client command run on the host (e.g. {@code lameduck terminations}). */
    Path kubeconfig() {
        return kubeconfig;
    }

    Command kubectl(Duration timeout, String... args) {
        List<String> argv = new ArrayList<>(List.of(binDir.resolve("kubectl").toString(), "--kubeconfig", kubeconfig.toString()));
        argv.addAll(List.of(args));
        return new Command(argv, Map.of(), timeout);
    }

    Command helm(Duration timeout, String... args) {
        List<String> argv = new ArrayList<>(List.of(helm.toString(), "--kubeconfig", kubeconfig.toString()));
        argv.addAll(List.of(args));
        return new Command(argv, Map.of(), timeout);
    }

    /** A command run inside the node's network namespace (where ClusterIPs and pod IPs are routed like on a node). */
    Command inNode(Duration timeout, String... args) {
        List<String> argv = new ArrayList<>(List.of("scripts/cluster.sh", "exec"));
        argv.addAll(List.of(args));
        return new Command(argv, Map.of(), timeout);
    }

    private static String script(Duration timeout, String... argv) {
        return Command.of(timeout, argv).ok();
    }

    /** kind → the given group of each IMAGE=kind NAME=name TAR=tar line (2: name, 3: tarball). */
    private static Map<String, String> parse(String output, int group) {
        Map<String, String> found = new LinkedHashMap<>();
        Matcher m = IMAGE_LINE.matcher(output);
        while (m.find()) {
            found.put(m.group(1), m.group(group));
        }
        if (found.isEmpty()) {
            throw new AssertionError("scripts/images.sh printed no NAME=... TAR=... lines:\n" + output);
        }
        return found;
    }

    private static String lastLine(String output) {
        String[] lines = output.strip().split("\n");
        return lines[lines.length - 1].strip();
    }

    /**
     * The lines a cluster component (kube-proxy, kubelet, ...) logged between two instants, by klog's stamp
     * ({@code I1205 16:34:11.816409 ...}; the year is this one), to explain a failure while the cluster still runs.
     */
    List<String> componentLog(String component, Instant from, Instant to) {
        Path file = kubeconfig.resolveSibling("logs").resolve(component + ".log");
        int year = java.time.Year.now(java.time.ZoneOffset.UTC).getValue();
        try (var lines = java.nio.file.Files.lines(file)) {
            return lines.filter(l -> KLOG_STAMP.matcher(l).lookingAt()).filter(l -> {
                Instant at = java.time.LocalDateTime.parse(year + "-" + l.substring(1, 3) + "-" + l.substring(3, 5) + "T"
                        + l.substring(6, 21)).toInstant(java.time.ZoneOffset.UTC);
                return !at.isBefore(from) && !at.isAfter(to);
            }).toList();
        } catch (java.io.IOException e) {
            return List.of("cannot read " + file + ": " + e);
        }
    }

    private static final Pattern KLOG_STAMP = Pattern.compile("[IWEF]\\d{4} \\d{2}:\\d{2}:\\d{2}\\.\\d{6} ");

    static void log(String message) {
        System.out.println("[node] " + message);
    }
}
