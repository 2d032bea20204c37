package io.lameduck.drain;

import io.lameduck.lifecycle.Lifecycle;
import io.lameduck.lifecycle.State;
import java.time.Duration;

/**
 * Keeps a late restore from putting a draining pod back into service. Restores (start-up, maintenance
 * off, a maintenance TTL expiring) and withdrawals take turns, and a restore once the lifecycle has
 * reached DRAINING is refused. The drain moves to DRAINING before it withdraws, so whichever comes first,
 * the pod ends up withdrawn.
 */
public final class LifecycleGuardedWithdrawal implements Withdrawal {
    private final Withdrawal delegate;
    private final Lifecycle lifecycle;

    public LifecycleGuardedWithdrawal(Withdrawal delegate, Lifecycle lifecycle) {
        this.delegate = delegate;
        this.lifecycle = lifecycle;
    }

    @Override
    public String strategy() {
        return delegate.strategy();
    }

    @Override
    public synchronized Result restore() {
        State state = lifecycle.state();
        if (state.servingIsOver()) {
            return new Result(Status.UNVERIFIED, strategy() + ": not restored, the agent is " + state + " (a drain owns the withdrawal)");
        }
        return delegate.restore();
    }

    @Override
    public synchronized Result withdraw(Duration timeout) throws InterruptedException {
        return delegate.withdraw(timeout);
    }
}
