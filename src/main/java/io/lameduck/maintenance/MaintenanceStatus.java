package io.lameduck.maintenance;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * Whether the pod is in maintenance (withdrawn at runtime while the agent stays READY).
 *
 * @param expiresAt when maintenance ends by itself; null without a TTL
 * @param detail what the withdrawal or restore reported
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MaintenanceStatus(boolean active, String reason, Instant since, Instant expiresAt, String detail) {
    public static final MaintenanceStatus OFF = new MaintenanceStatus(false, null, null, null, null);
}
