package io.lameduck.kube;

import java.util.List;

/**
 * What the startup RBAC check found.
 *
 * @param checked false when the check itself could not run (then nothing is known)
 * @param missing the missing permissions, e.g. {@code patch pods/status}
 * @param degraded what does not work because of them, one line each
 */
public record RbacReport(boolean checked, List<String> missing, List<String> degraded) {
    public RbacReport {
        missing = List.copyOf(missing);
        degraded = List.copyOf(degraded);
    }

    public boolean complete() {
        return checked && missing.isEmpty();
    }
}
