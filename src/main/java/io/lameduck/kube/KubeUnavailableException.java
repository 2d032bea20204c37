package io.lameduck.kube;

/** {@code kube.mode: enabled}, but there is no usable Kubernetes API (or the agent cannot tell which pod it is). */
public final class KubeUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    public KubeUnavailableException(String message) {
        super(message);
    }
}
