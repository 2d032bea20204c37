package io.lameduck.inject;

/** Why a pod that reached the injector was left as it is (the {@code reason} label of the skipped counter). */
public enum SkipReason {
    /** Labelled or annotated {@code lameduck.io/inject: disabled}. */
    OPTED_OUT("opted_out"),
    /** Already has the sidecar or the injected annotation (a re-invocation, or injected by hand). */
    ALREADY_INJECTED("already_injected"),
    /** An override annotation is malformed, or makes a config the agent would reject. */
    INVALID_OVERRIDE("invalid_override"),
    /** The pod already has a volume of the name the sidecar needs. */
    CONFLICT("conflict"),
    /** Not a pod CREATE (the webhook is registered for nothing else; answered allowed, unchanged). */
    NOT_A_POD_CREATE("not_a_pod_create"),
    /** The pod's ServiceAccount could not be given the agent's rules, so its readiness gate would never turn True. */
    RBAC_FAILED("rbac_failed");

    private final String label;

    SkipReason(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
