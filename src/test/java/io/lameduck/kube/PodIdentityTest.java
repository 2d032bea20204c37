package io.lameduck.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodIdentityTest {
    @TempDir
    Path dir;

    @Test
    void theDownwardApiVariablesWin() {
        PodIdentity.Lookup lookup = PodIdentity.fromEnvironment(
                Map.of("POD_NAME", "web-1", "POD_NAMESPACE", "shop", "HOST_IP", "10.1.2.3", "HOSTNAME", "other"), dir.resolve("none"));

        assertThat(lookup).isEqualTo(new PodIdentity.Lookup.Found(new PodIdentity("web-1", "shop", Optional.of("10.1.2.3"))));
    }

    @Test
    void hostnameAndTheServiceAccountNamespaceFileAreTheFallbacks() throws Exception {
        Path namespaceFile = Files.writeString(dir.resolve("namespace"), "shop\n");

        assertThat(PodIdentity.fromEnvironment(Map.of("HOSTNAME", "web-2", "HOST_IP", " "), namespaceFile))
                .isEqualTo(new PodIdentity.Lookup.Found(new PodIdentity("web-2", "shop", Optional.empty())));
    }

    @Test
    void whatIsMissingIsSaidWithTheFix() {
        PodIdentity.Lookup lookup = PodIdentity.fromEnvironment(Map.of(), dir.resolve("none"));

        assertThat(lookup).isInstanceOfSatisfying(PodIdentity.Lookup.Missing.class, missing -> assertThat(missing.reason())
                .isEqualTo("cannot tell which pod this is: missing the pod name (set POD_NAME from the downward API fieldRef "
                        + "metadata.name; HOSTNAME is not set either) and the namespace (set POD_NAMESPACE from the downward API "
                        + "fieldRef metadata.namespace; " + dir.resolve("none") + " is not readable either)"));
    }
}
