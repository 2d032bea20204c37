package io.lameduck.inject;

/** The pod labels and annotations the injector reads and writes. */
public final class Annotations {
    private Annotations() {}

    /** Label (namespace or pod) or pod annotation: {@code enabled} opts in, {@code disabled} opts out. */
    public static final String INJECT = "lameduck.io/inject";
    /** Written on injected pods: how they were injected; its presence makes injection idempotent. */
    public static final String INJECTED = "lameduck.io/injected";
    /** Override: the withdraw strategy, {@code readiness-gate}, {@code label} or {@code probe}. */
    public static final String STRATEGY = "lameduck.io/strategy";
    /** Override: {@code true} for a native sidecar (an init container with restartPolicy Always), {@code false} for classic. */
    public static final String NATIVE = "lameduck.io/native";
    /**
     * Override: the app ports the quiet propagation watches, comma-separated ({@code drain.propagation.ports}). Default:
     * the TCP {@code containerPort}s the app containers declare, else the chart's.
     */
    public static final String PORTS = "lameduck.io/ports";
    /** Override: the drain budget ({@code drain.budget}); default: the pod's terminationGracePeriodSeconds. */
    public static final String BUDGET = "lameduck.io/budget";
    /** Written on pods the injector left unchanged (not on pods already injected): the reason label and message. */
    public static final String SKIPPED = "lameduck.io/skipped";
    /** Written when app containers kept their own preStop: their names, comma-separated. */
    public static final String PRESTOP_KEPT = "lameduck.io/prestop-kept";
}
