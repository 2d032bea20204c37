package io.lameduck.kube;

import java.util.List;

/**
 * What the startup RBAC check found.
 *
 * @param checked false when the check itself could not run (then nothing is known)
 * @param missing the missing permissions, e.g. {@code patch pods/status}
 * @param degraded what does not work because of them, one line each
 * @param whyUnchecked why the check could not run; empty when it ran
 */
public record RbacReport(boolean checked, List<String> missing, List<String> degraded, String whyUnchecked) {
    public RbacReport {
        missing = List.copyOf(missing);
        degraded = List.copyOf(degraded);
    }

    public RbacReport(boolean checked, List<String> missing, List<String> degraded) {
        this(checked, missing, degraded, "");
    }

    public boolean complete() {
        return checked && missing.isEmpty();
    }
}
