package io.lameduck.collect;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lameduck.http.Json;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Keeps the {@link LedgerState} in a ConfigMap of the collector's namespace, gzipped JSON under
 * {@code binaryData.ledger.json.gz}. Writes are compare-and-swap on the resourceVersion, so a second collector (or an
 * edit by hand) is seen as a conflict instead of being silently overwritten. The chart never renders this ConfigMap:
 * an upgrade must not reset it; {@code helm uninstall} leaves it behind.
 */
final class ConfigMapLedgerStore implements LedgerStore {
    static final String KEY = "ledger.json.gz";
    /** A ConfigMap holds at most 1 MiB; the bounds of {@link FleetLedger.Bounds#DEFAULT} stay well below. */
    static final int MAX_BYTES = 1024 * 1024 - 16 * 1024;
    /** The largest state this collector inflates: a hostile ConfigMap must not exhaust its memory. */
    private static final int MAX_INFLATED = 32 * 1024 * 1024;

    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    private String resourceVersion;

    ConfigMapLedgerStore(KubernetesClient client, String namespace, String name) {
        this.client = client;
        this.namespace = namespace;
        this.name = name;
    }

    @Override
    public synchronized Optional<LedgerState> load() throws StoreException {
        ConfigMap map;
        try {
            map = client.configMaps().inNamespace(namespace).withName(name).get();
        } catch (KubernetesClientException e) {
            throw new StoreException("reading ConfigMap " + where() + ": " + e.getMessage() + hint(e), false, e);
        }
        if (map == null) {
            resourceVersion = null;
            return Optional.empty();
        }
        resourceVersion = map.getMetadata().getResourceVersion();
        String data = map.getBinaryData() == null ? null : map.getBinaryData().get(KEY);
        if (data == null) {
            throw new StoreException("ConfigMap " + where() + " has no binaryData." + KEY + "; it is not the collector's state. "
                    + "Delete it (kubectl -n " + namespace + " delete configmap " + name + ") to start counting from zero", false, null);
        }
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(data)))) {
            byte[] json = in.readNBytes(MAX_INFLATED + 1);
            if (json.length > MAX_INFLATED) {
                throw new StoreException("ConfigMap " + where() + " inflates to more than " + MAX_INFLATED + " bytes", false, null);
            }
            return Optional.of(Json.MAPPER.readValue(json, LedgerState.class));
        } catch (IOException | IllegalArgumentException e) {
            throw new StoreException("ConfigMap " + where() + " does not hold a readable collector state (" + e.getMessage()
                    + "). Delete it (kubectl -n " + namespace + " delete configmap " + name + ") to start counting from zero", false, e);
        }
    }

    @Override
    public synchronized int save(LedgerState state) throws StoreException {
        byte[] gz = gzip(state);
        if (gz.length > MAX_BYTES) {
            throw new StoreException("the collector state is " + gz.length + " bytes gzipped, more than a ConfigMap holds ("
                    + MAX_BYTES + "); lower --max-workloads", false, null);
        }
        ConfigMap map = new ConfigMapBuilder()
                .withNewMetadata().withNamespace(namespace).withName(name).withResourceVersion(resourceVersion)
                    .addToLabels("app.kubernetes.io/component", "collector-state")
                    .addToLabels("app.kubernetes.io/part-of", "lameduck")
                .endMetadata()
                .withBinaryData(Map.of(KEY, Base64.getEncoder().encodeToString(gz)))
                .build();
        try {
            ConfigMap written = resourceVersion == null
                    ? client.configMaps().inNamespace(namespace).resource(map).create()
                    : client.configMaps().inNamespace(namespace).resource(map).update();
            resourceVersion = written.getMetadata().getResourceVersion();
            return gz.length;
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404 && resourceVersion != null) {
                resourceVersion = null; // deleted by hand: written afresh next time, with everything counted so far
                throw new StoreException("ConfigMap " + where() + " was deleted; it is created again at the next write", false, e);
            }
            boolean conflict = e.getCode() == 409;
            throw new StoreException((resourceVersion == null ? "creating" : "updating") + " ConfigMap " + where() + ": "
                    + (conflict ? "someone else changed it since this collector read it (is a second collector running?)" : e.getMessage())
                    + hint(e), conflict, e);
        }
    }

    static byte[] gzip(LedgerState state) throws StoreException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            Json.MAPPER.writeValue(out, state);
        } catch (IOException e) {
            throw new StoreException("serialising the collector state: " + e.getMessage(), false, e);
        }
        return bytes.toByteArray();
    }

    private String where() {
        return namespace + "/" + name;
    }

    private String hint(KubernetesClientException e) {
        return e.getCode() == 403 ? " (the collector's Role must allow get, create and update on configmaps in " + namespace
                + "; the chart's collector Role does)" : "";
    }
}
