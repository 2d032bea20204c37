package io.lameduck.collect;

import java.util.Comparator;
import java.util.Objects;

/** A workload in the fleet: the label set of the fleet metrics. */
public record WorkloadKey(String namespace, String kind, String name) implements Comparable<WorkloadKey> {
    /** Where the reports of workloads beyond the collector's bound are counted. */
    public static final WorkloadKey OTHER = new WorkloadKey("_other", "_other", "_other");
    private static final Comparator<WorkloadKey> ORDER = Comparator.comparing(WorkloadKey::namespace)
            .thenComparing(WorkloadKey::kind).thenComparing(WorkloadKey::name);

    public WorkloadKey {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
    }

    @Override
    public int compareTo(WorkloadKey other) {
        return ORDER.compare(this, other);
    }

    @Override
    public String toString() {
        return namespace + "/" + kind + "/" + name;
    }
}
