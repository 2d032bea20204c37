package io.lameduck.drain;

import java.time.Duration;

/**
 * The {@code probe} strategy: nothing to do beyond failing {@code /readyz}, which the lifecycle state
 * already does. The kubelet's readiness probe and the propagation delay do the rest, unverified.
 */
public final class ProbeWithdrawal implements Withdrawal {
    @Override
    public String strategy() {
        return "probe";
    }

    @Override
    public Result restore() {
        return new Result(Status.UNVERIFIED, "probe: /readyz answers 200 again");
    }

    @Override
    public Result withdraw(Duration timeout) {
        return new Result(Status.UNVERIFIED, "probe: /readyz answers 503; removal is left to the kubelet's readiness probe (not verified)");
    }
}
