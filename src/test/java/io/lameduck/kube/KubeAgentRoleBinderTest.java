package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.lameduck.inject.KubeAgentRoleBinder;
import io.lameduck.logging.LogCapture;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.event.Level;

/**
 * The injector's RoleBindings on a real kube-apiserver when the agent ClusterRole that should own them is missing (a
 * chart installed without it, or the role deleted): binding still works, without an owner, and the problem is told
 * once, not at every pod the injector binds for.
 */
@Tag("kube")
class KubeAgentRoleBinderTest {
    @RegisterExtension
    final KubeFixture cluster = KubeFixture.namespacePerTest("binder");

    @Test
    void withoutItsClusterRoleTheBinderStillBindsAndSaysSoOnce() {
        KubeAgentRoleBinder binder = new KubeAgentRoleBinder(cluster.admin(), "lameduck-agent-missing");
        String other = cluster.newNamespace("binder-other");
        try (LogCapture logs = LogCapture.of(KubeAgentRoleBinder.class)) {
            binder.bind(cluster.namespace(), "web");
            binder.bind(cluster.namespace(), "api");
            binder.bind(other, "web");

            RoleBinding binding = cluster.admin().rbac().roleBindings().inNamespace(cluster.namespace())
                    .withName(KubeAgentRoleBinder.NAME).get();
            assertThat(binding.getSubjects()).extracting(s -> s.getName()).containsExactlyInAnyOrder("web", "api");
            assertThat(binding.getMetadata().getOwnerReferences()).isEmpty();
            assertThat(cluster.admin().rbac().roleBindings().inNamespace(other).withName(KubeAgentRoleBinder.NAME).get()).isNotNull();
            assertThat(logs.messages(Level.WARN)).containsExactly("ClusterRole lameduck-agent-missing not found: RoleBindings "
                    + KubeAgentRoleBinder.NAME + " are made without an owner, so uninstalling will not remove them");
        }
    }
}
