package io.lameduck.inject;

import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;

/**
 * Keeps one RoleBinding, {@value #NAME}, per injected namespace: the chart's agent ClusterRole bound to every
 * ServiceAccount whose pods were injected there. Needs get, create and update on rolebindings and bind on
 * that one ClusterRole (the chart's injector ClusterRole). Two injector replicas may race: a conflict is retried.
 */
public final class KubeAgentRoleBinder implements AgentRoleBinder {
    public static final String NAME = "lameduck-agent";
    private static final int ATTEMPTS = 3;

    private final KubernetesClient client;
    private final String clusterRole;

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
                RoleBinding current = client.rbac().roleBindings().inNamespace(namespace).withName(NAME).get();
                if (current == null) {
                    client.rbac().roleBindings().inNamespace(namespace).resource(new RoleBindingBuilder()
                            .withNewMetadata().withName(NAME).addToLabels("app.kubernetes.io/managed-by", "lameduck-injector").endMetadata()
                            .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName(clusterRole).endRoleRef()
                            .withSubjects(subject).build()).create();
                    return;
                }
                if (current.getSubjects().stream().anyMatch(s -> "ServiceAccount".equals(s.getKind())
                        && serviceAccount.equals(s.getName()) && namespace.equals(s.getNamespace()))) {
                    return;
                }
                current.getSubjects().add(subject);
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
}
