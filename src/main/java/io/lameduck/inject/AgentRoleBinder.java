package io.lameduck.inject;

/**
 * Gives a pod's ServiceAccount the agent's rules in the pod's namespace before the pod is admitted; without
 * them the agent cannot set its readiness gate and the pod would never become ready.
 */
@FunctionalInterface
public interface AgentRoleBinder {
    /** Does nothing: for injectors run without API access (tests of the admission protocol). */
    AgentRoleBinder NONE = (namespace, serviceAccount) -> {};

    /** Returns once {@code serviceAccount} is bound; throws with a message that says what is missing. */
    void bind(String namespace, String serviceAccount) throws Exception;
}
