package io.lameduck.kube;

import io.fabric8.kubernetes.api.model.authorization.v1.ResourceRule;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lameduck.config.AgentConfig;
import io.lameduck.time.Deadline;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks at startup that the agent's service account may do what its configuration needs, with one
 * {@code SelfSubjectRulesReview} (plus a {@code SelfSubjectAccessReview} per permission the rules review
 * cannot vouch for when it is incomplete, e.g. under a webhook authorizer), and logs exactly which verbs
 * are missing and which features degrade. The Role that grants all of it is
 * {@code helm/lameduck/files/role-rules.yaml}. The agent runs it at start-up; {@code lameduck check rbac} (the chart's
 * {@code helm test} of the agent's ServiceAccount) runs the same check through {@link #run}.
 */
public final class RbacCheck {
    private static final Logger LOG = LoggerFactory.getLogger(RbacCheck.class);

    /** One permission and the feature that needs it. */
    record Permission(String group, String resource, String subresource, String verb, String feature) {
        String describe() {
            String full = subresource.isEmpty() ? resource : resource + "/" + subresource;
            return verb + " " + (group.isEmpty() ? full : group + "/" + full);
        }
    }

    private final KubernetesClient client;
    private final PodIdentity identity;
    private final ApiCalls api;

    RbacCheck(KubernetesClient client, PodIdentity identity, ApiCalls api) {
        this.client = client;
        this.identity = identity;
        this.api = api;
    }

    /**
     * The check on its own, as the agent of pod {@code identity} with {@code config} would run it at start-up, never
     * past {@code deadline}: for {@code lameduck check rbac}. Its calls are counted on a registry nobody scrapes.
     */
    public static RbacReport run(AgentConfig config, KubernetesClient client, PodIdentity identity, Deadline deadline)
            throws InterruptedException {
        try (ApiCalls api = ApiCalls.uncounted()) {
            return new RbacCheck(client, identity, api).check(required(config), deadline);
        }
    }

    static List<Permission> required(AgentConfig config) {
        List<Permission> needed = new ArrayList<>();
        String strategy = config.drain().withdraw().strategy().configName();
        needed.add(new Permission("", "pods", "", "get",
                "reading the own pod: the drain deadline from deletionTimestamp (falls back to drain.budget), "
                        + "restart recovery, withdrawal"));
        needed.add(new Permission("", "pods", "", "watch",
                "watching the own pod for its deletion (a pod deleted without a preStop call drains only on SIGTERM; "
                        + "a /prestop from outside loopback and the node IP needs a fresh read to be accepted)"));
        needed.add(new Permission("", "pods", "", "patch", "persisting maintenance in the pod annotation "
                + config.kube().maintenanceAnnotation() + " (a restarted agent will not restore it)"
                + (strategy.equals("label") ? "; label withdrawal (falls back to probe)" : "")));
        if (strategy.equals("readiness-gate")) {
            needed.add(new Permission("", "pods", "status", "patch", "readiness-gate withdrawal (falls back to probe)"));
        }
        String verification = "withdrawal verification on EndpointSlices (withdrawals stay unverified)";
        needed.add(new Permission("", "services", "", "list", verification));
        needed.add(new Permission("discovery.k8s.io", "endpointslices", "", "list", verification));
        needed.add(new Permission("discovery.k8s.io", "endpointslices", "", "watch", verification));
        if (config.drain().propagation().looksUpIngresses()) {
            needed.add(new Permission("networking.k8s.io", "ingresses", "", "list", "waiting for ingress controllers: requests on "
                    + "open connections count only drain.propagation.keepAliveWait, so a controller applying the change later can "
                    + "lose requests"));
        }
        if (config.kube().events()) {
            needed.add(new Permission("", "events", "", "create", "Kubernetes Events on the pod (not written)"));
        }
        needed.add(new Permission("", "events", "", "list", "telling a kubelet eviction from a container restart (its Evicted "
                + "Event): an evicted pod is then drained with the pod's whole grace period as its deadline and its report may "
                + "never be written"));
        return needed;
    }

    /** Checks {@code needed}, never past {@code deadline}; an API that does not answer leaves the report unchecked. */
    RbacReport check(List<Permission> needed, Deadline deadline) throws InterruptedException {
        SelfSubjectRulesReview review;
        try {
            review = api.call("create", "selfsubjectrulesreviews", deadline.cap(OwnPod.CALL_LIMIT),
                    () -> client.authorization().v1().selfSubjectRulesReview().create(new SelfSubjectRulesReviewBuilder()
                            .withNewSpec().withNamespace(identity.namespace()).endSpec().build()));
        } catch (ApiException e) {
            if (e.kind() == ApiException.Kind.UNREACHABLE || e.kind() == ApiException.Kind.TIMEOUT) {
                return unchecked(e.getMessage());
            }
            LOG.debug("RBAC: SelfSubjectRulesReview failed ({}); asking per permission", e.getMessage());
            review = null;
        }
        List<String> missing = new ArrayList<>();
        Set<String> degraded = new LinkedHashSet<>();
        for (Permission permission : needed) {
            Boolean allowed;
            if (review != null && allows(review.getStatus().getResourceRules(), permission)) {
                allowed = true;
            } else if (review != null && !Boolean.TRUE.equals(review.getStatus().getIncomplete())) {
                allowed = false;
            } else {
                allowed = accessReview(permission, deadline); // the rules review cannot vouch for it
            }
            if (allowed == null) {
                return unchecked("the API refused or did not answer a SelfSubjectAccessReview");
            }
            if (!allowed) {
                missing.add(permission.describe());
                degraded.add(permission.feature());
            }
        }
        RbacReport report = new RbacReport(true, missing, List.copyOf(degraded));
        if (missing.isEmpty()) {
            LOG.info("RBAC: the service account has all {} permissions the configuration needs in namespace {}",
                    needed.size(), identity.namespace());
        } else {
            LOG.warn("RBAC: missing in namespace {}: {}; degraded: {}. Grant them with the Role in helm/lameduck/files/role-rules.yaml",
                    identity.namespace(), String.join(", ", missing), String.join("; ", degraded));
        }
        return report;
    }

    private static RbacReport unchecked(String why) {
        LOG.warn("RBAC: cannot check the agent's permissions ({}); features needing missing ones will degrade when used", why);
        return new RbacReport(false, List.of(), List.of(), why);
    }

    private boolean allows(List<ResourceRule> rules, Permission permission) {
        String resource = permission.subresource().isEmpty() ? permission.resource() : permission.resource() + "/" + permission.subresource();
        boolean named = permission.resource().equals("pods"); // the agent only touches its own pod
        return rules != null && rules.stream().anyMatch(rule ->
                matches(rule.getVerbs(), permission.verb())
                        && matches(rule.getApiGroups(), permission.group())
                        && (matches(rule.getResources(), resource) || rule.getResources().contains(permission.resource() + "/*")
                                || (!permission.subresource().isEmpty() && rule.getResources().contains("*/" + permission.subresource())))
                        && (rule.getResourceNames() == null || rule.getResourceNames().isEmpty()
                                || named && rule.getResourceNames().contains(identity.name())));
    }

    private static boolean matches(List<String> values, String wanted) {
        return values != null && (values.contains("*") || values.contains(wanted));
    }

    /** True or false from a SelfSubjectAccessReview; null when the review itself failed. */
    private Boolean accessReview(Permission permission, Deadline deadline) throws InterruptedException {
        SelfSubjectAccessReview review = new SelfSubjectAccessReviewBuilder().withNewSpec().withNewResourceAttributes()
                .withNamespace(identity.namespace()).withGroup(permission.group()).withResource(permission.resource())
                .withSubresource(permission.subresource()).withVerb(permission.verb())
                .withName(permission.resource().equals("pods") ? identity.name() : null)
                .endResourceAttributes().endSpec().build();
        try {
            SelfSubjectAccessReview answer = api.call("create", "selfsubjectaccessreviews", deadline.cap(OwnPod.CALL_LIMIT),
                    () -> client.authorization().v1().selfSubjectAccessReview().create(review));
            return answer.getStatus() != null && answer.getStatus().getAllowed();
        } catch (ApiException e) {
            return null;
        }
    }
}
