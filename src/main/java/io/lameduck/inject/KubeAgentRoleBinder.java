package io.lameduck.inject;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one RoleBinding, {@value #NAME}, per injected namespace: the chart's agent ClusterRole bound to every
 * ServiceAccount whose pods were injected there. Needs get, create and update on rolebindings and get and bind on
 * that one ClusterRole (the chart's injector ClusterRole). Two injector replicas may race: a conflict is retried.
 *
 * <p>Each RoleBinding is owned by that ClusterRole (an ownerReference; a namespaced object may have a cluster-scoped
 * owner), so {@code helm uninstall}, which deletes the ClusterRole, lets the garbage collector delete the RoleBindings
 * in every namespace: nothing is left behind, and no uninstall hook has to find them.
 */
public final class KubeAgentRoleBinder implements AgentRoleBinder {
    public static final String NAME = "lameduck-agent";
    private static final int ATTEMPTS = 3;

    private static final Logger LOG = LoggerFactory.getLogger(KubeAgentRoleBinder.class);

    private final KubernetesClient client;
    private final String clusterRole;
    /** The ClusterRole as owner, once read (its UID does not change while it exists). */
    private volatile OwnerReference owner;
    /** The last owner problem logged: see {@link #warnOnce}. */
    private volatile String lastWarning;

    public KubeAgentRoleBinder(KubernetesClient client, String clusterRole) {
        this.client = client;
        this.clusterRole = clusterRole;
    }

    @Override
    public void bind(String namespace, String serviceAccount) {
        Subject subject = new SubjectBuilder().withKind("ServiceAccount").withName(serviceAccount).withNamespace(namespace).build();
        KubernetesClientException last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            try {
                Optional<OwnerReference> owner = owner();
                RoleBinding current = client.rbac().roleBindings().inNamespace(namespace).withName(NAME).get();
                if (current == null) {
                    client.rbac().roleBindings().inNamespace(namespace).resource(new RoleBindingBuilder()
                            .withNewMetadata().withName(NAME).addToLabels("app.kubernetes.io/managed-by", "lameduck-injector")
                            .withOwnerReferences(owner.stream().toList()).endMetadata()
                            .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName(clusterRole).endRoleRef()
                            .withSubjects(subject).build()).create();
                    return;
                }
                boolean bound = current.getSubjects().stream().anyMatch(s -> "ServiceAccount".equals(s.getKind())
                        && serviceAccount.equals(s.getName()) && namespace.equals(s.getNamespace()));
                // A RoleBinding made before the owner was set, or while it could not be read, gets it now.
                boolean owned = owner.isEmpty() || current.getMetadata().getOwnerReferences().stream()
                        .anyMatch(o -> o.getUid().equals(owner.get().getUid()));
                if (bound && owned) {
                    return;
                }
                if (!bound) {
                    current.getSubjects().add(subject);
                }
                if (!owned) {
                    current.getMetadata().getOwnerReferences().add(owner.get());
                }
                client.rbac().roleBindings().inNamespace(namespace).resource(current).update();
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                    throw new IllegalStateException("cannot bind ClusterRole " + clusterRole + " to ServiceAccount " + namespace + "/"
                            + serviceAccount + " (RoleBinding " + namespace + "/" + NAME + "): " + e.getMessage(), e);
                }
                last = e;
            }
        }
        throw new IllegalStateException("RoleBinding " + namespace + "/" + NAME + " kept changing under the injector: " + last.getMessage(), last);
    }

    /**
     * The agent ClusterRole as the RoleBindings' owner, or empty (warned) when it cannot be read: binding matters more
     * than the cleanup at uninstall, so a missing {@code get} on it does not stop injection.
     */
    private Optional<OwnerReference> owner() {
        if (owner != null) {
            return Optional.of(owner);
        }
        try {
            ClusterRole role = client.rbac().clusterRoles().withName(clusterRole).get();
            if (role == null) {
                warnOnce("ClusterRole " + clusterRole + " not found: RoleBindings " + NAME + " are made without an owner, so "
                        + "uninstalling will not remove them");
                return Optional.empty();
            }
            owner = new OwnerReferenceBuilder().withApiVersion("rbac.authorization.k8s.io/v1").withKind("ClusterRole")
                    .withName(clusterRole).withUid(role.getMetadata().getUid()).build();
            return Optional.of(owner);
        } catch (KubernetesClientException e) {
            warnOnce("cannot read ClusterRole " + clusterRole + " (" + e.getMessage() + "): RoleBindings " + NAME + " are made "
                    + "without an owner, so uninstalling will not remove them; give the injector get on it (the chart does)");
            return Optional.empty();
        }
    }

    /**
     * The owner is looked up again at every bind (the ClusterRole may come later), but the same problem is told once, not
     * at every injected pod; a different one is told again.
     */
    private void warnOnce(String problem) {
        if (!problem.equals(lastWarning)) {
            lastWarning = problem;
            LOG.warn(problem);
        }
    }
}
