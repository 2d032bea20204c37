package io.lameduck.logging;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.slf4j.event.Level;

/**
 * What the named loggers log, at every level, from {@link #of} until {@link #close}: for tests that assert a warning
 * was (or was not) given. The lines still go to the output as configured.
 */
public final class LogCapture implements AutoCloseable {
    /** One logged event, its message formatted. */
    public record Event(Level level, String logger, String message) {}

    private final Set<String> loggers;
    private final List<Event> events = new CopyOnWriteArrayList<>();

    private LogCapture(Set<String> loggers) {
        this.loggers = loggers;
    }

    /** Starts capturing the loggers of these classes. */
    public static LogCapture of(Class<?>... classes) {
        return of(Arrays.stream(classes).map(Class::getName).toArray(String[]::new));
    }

    /** Starts capturing the loggers of these names. */
    public static LogCapture of(String... names) {
        LogCapture capture = new LogCapture(Set.of(names));
        LogOutput.INSTANCE.attach(capture);
        return capture;
    }

    public List<Event> events() {
        return List.copyOf(events);
    }

    /** The messages logged at {@code level}, in order. */
    public List<String> messages(Level level) {
        return events.stream().filter(e -> e.level() == level).map(Event::message).collect(Collectors.toList());
    }

    boolean wants(String logger) {
        return loggers.contains(logger);
    }

    void add(Event event) {
        events.add(event);
    }

    @Override
    public void close() {
        LogOutput.INSTANCE.detach(this);
    }
}
