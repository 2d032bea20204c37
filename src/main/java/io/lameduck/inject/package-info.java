/**
 * The injection webhook ({@code lameduck injector}): a mutating admission webhook that adds the agent to
 * pods at creation. What it adds comes from {@link InjectionTemplate}, which the Helm chart renders from
 * its public named templates, so the sidecar is specified once, in the chart. {@link PodInjector} turns a
 * pod and the template into a JSON patch (pure, no I/O); {@link AdmissionHandler} speaks AdmissionReview v1
 * over HTTPS; {@link AgentRoleBinder} gives the pod's ServiceAccount the agent's rules in its namespace.
 */
package io.lameduck.inject;
