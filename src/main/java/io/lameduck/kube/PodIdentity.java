package io.lameduck.kube;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which pod the agent runs in. Read from the downward API environment ({@code POD_NAME},
 * {@code POD_NAMESPACE}, {@code HOST_IP}), falling back to {@code HOSTNAME} (the pod name unless
 * {@code spec.hostname} is set) and the service-account namespace file.
 *
 * @param hostIp the node's IP ({@code status.hostIP}); empty if unknown
 */
public record PodIdentity(String name, String namespace, Optional<String> hostIp) {
    /** Where Kubernetes mounts the pod's namespace with the service-account token. */
    public static final Path SERVICE_ACCOUNT_NAMESPACE_FILE = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

    public PodIdentity {
        if (name == null || name.isBlank() || namespace == null || namespace.isBlank()) {
            throw new IllegalArgumentException("a pod identity needs a name and a namespace, got " + name + " in " + namespace);
        }
    }

    public PodIdentity(String name, String namespace) {
        this(name, namespace, Optional.empty());
    }

    /** The identity, or a message saying what is missing and how to provide it. */
    public sealed interface Lookup {
        record Found(PodIdentity identity) implements Lookup {}

        record Missing(String reason) implements Lookup {}
    }

    /** Reads the identity from {@code env} and, for the namespace only, from {@code namespaceFile}. */
    public static Lookup fromEnvironment(Map<String, String> env, Path namespaceFile) {
        Optional<String> name = nonBlank(env.get("POD_NAME")).or(() -> nonBlank(env.get("HOSTNAME")));
        Optional<String> namespace = nonBlank(env.get("POD_NAMESPACE")).or(() -> readFile(namespaceFile));
        List<String> missing = new ArrayList<>();
        if (name.isEmpty()) {
            missing.add("the pod name (set POD_NAME from the downward API fieldRef metadata.name; HOSTNAME is not set either)");
        }
        if (namespace.isEmpty()) {
            missing.add("the namespace (set POD_NAMESPACE from the downward API fieldRef metadata.namespace; "
                    + namespaceFile + " is not readable either)");
        }
        if (!missing.isEmpty()) {
            return new Lookup.Missing("cannot tell which pod this is: missing " + String.join(" and ", missing));
        }
        return new Lookup.Found(new PodIdentity(name.get(), namespace.get(), nonBlank(env.get("HOST_IP"))));
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }

    private static Optional<String> nonBlank(String value) {
        return Optional.ofNullable(value).map(String::strip).filter(s -> !s.isEmpty());
    }

    private static Optional<String> readFile(Path file) {
        try {
            return nonBlank(Files.readString(file));
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }
}
