package io.lameduck.time;

/** A monotonic clock in nanoseconds; {@link #SYSTEM} is {@link System#nanoTime()}. Injected so tests can move time. */
@FunctionalInterface
public interface Ticker {
    Ticker SYSTEM = System::nanoTime;

    long nanoTime();
}
