package io.lameduck.maintenance;

/**
 * Observes maintenance changes (logs, metrics, Kubernetes Events). Called outside any lock, once per change, in the
 * order the changes happened; must not block long.
 */
@FunctionalInterface
public interface MaintenanceListener {
    void maintenanceChanged(MaintenanceStatus status);
}
