package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import org.junit.jupiter.api.Test;

/** The Services an Ingress sends to, whatever parts of it are missing (the API server accepts all of these). */
class IngressRoutesTest {
    @Test
    void theDefaultBackendAndEveryPathsServiceEachOnce() {
        Ingress ingress = new IngressBuilder().withNewMetadata().withName("front").endMetadata().withNewSpec()
                .withNewDefaultBackend().withNewService().withName("web").endService().endDefaultBackend()
                .addNewRule().withHost("a.example").withNewHttp()
                .addNewPath().withPath("/").withNewBackend().withNewService().withName("web").endService().endBackend().endPath()
                .addNewPath().withPath("/api").withNewBackend().withNewService().withName("api").endService().endBackend().endPath()
                .endHttp().endRule()
                .endSpec().build();

        assertThat(IngressRoutes.backends(ingress)).containsExactly("web", "api");
    }

    @Test
    void missingPartsAndResourceBackendsNameNoService() {
        Ingress noSpec = new IngressBuilder().withNewMetadata().withName("empty").endMetadata().build();
        Ingress hostOnly = new IngressBuilder().withNewMetadata().withName("host").endMetadata().withNewSpec()
                .addNewRule().withHost("b.example").endRule() // a rule without http
                .addNewRule().withHost("c.example").withNewHttp().addNewPath().withPath("/static")
                .withNewBackend().withNewResource("k8s.example.com", "StorageBucket", "assets").endBackend().endPath().endHttp().endRule()
                .endSpec().build();

        assertThat(IngressRoutes.backends(noSpec)).isEmpty();
        assertThat(IngressRoutes.backends(hostOnly)).isEmpty();
    }
}
