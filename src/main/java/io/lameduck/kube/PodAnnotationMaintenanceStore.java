package io.lameduck.kube;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.fabric8.kubernetes.api.model.Pod;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.maintenance.MaintenanceStore;
import io.lameduck.time.Deadline;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persists maintenance mode as a JSON pod annotation ({@code kube.maintenanceAnnotation}), so a restarted
 * agent restores it. Maintenance off removes the annotation. Failures are logged, never thrown.
 */
final class PodAnnotationMaintenanceStore implements MaintenanceStore {
    private static final Logger LOG = LoggerFactory.getLogger(PodAnnotationMaintenanceStore.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    static final Duration WRITE_LIMIT = Duration.ofSeconds(5);

    private final OwnPod pod;
    private final String annotation;

    PodAnnotationMaintenanceStore(OwnPod pod, String annotation) {
        this.pod = pod;
        this.annotation = annotation;
    }

    @Override
    public void save(MaintenanceStatus status) {
        String value;
        try {
            value = status.active() ? JSON.writeValueAsString(status) : null;
        } catch (JsonProcessingException e) {
            LOG.warn("maintenance: cannot serialize {}: {}", status, e.toString());
            return;
        }
        try {
            pod.patch(OwnPod.PODS, current -> {
                Map<String, String> annotations = current.getMetadata().getAnnotations();
                String existing = annotations == null ? null : annotations.get(annotation);
                return Objects.equals(existing, value) ? Optional.empty()
                        : Optional.of(Patches.annotation(current, annotation, value));
            }, Deadline.after(WRITE_LIMIT));
        } catch (ApiException e) {
            LOG.warn("maintenance: cannot persist it in pod annotation {} ({}); a restarted agent will not restore it",
                    annotation, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The active maintenance recorded on the pod, if any; a value that is not valid JSON is logged and ignored. */
    Optional<MaintenanceStatus> read(Pod current) {
        Map<String, String> annotations = current.getMetadata().getAnnotations();
        String value = annotations == null ? null : annotations.get(annotation);
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        try {
            MaintenanceStatus status = JSON.readValue(value, MaintenanceStatus.class);
            return status.active() ? Optional.of(status) : Optional.empty();
        } catch (JsonProcessingException e) {
            LOG.warn("maintenance: ignoring pod annotation {}: not a maintenance status ({})", annotation, e.getOriginalMessage());
            return Optional.empty();
        }
    }
}
