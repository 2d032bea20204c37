package io.lameduck.maintenance;

/** Persists maintenance mode so that a restarted agent restores it (in Kubernetes: a pod annotation). */
public interface MaintenanceStore {
    MaintenanceStore IN_MEMORY = status -> { };

    /** Saves the status; failures are logged by the implementation, never thrown. */
    void save(MaintenanceStatus status);
}
