package io.lameduck.logging;

import java.util.List;
import java.util.Map;
import org.slf4j.MDC;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.event.LoggingEvent;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.LoggingEventAware;

/** One named logger: asks {@link LogOutput} whether a level is on, formats the message and hands it over. */
final class LineLogger extends LegacyAbstractLogger implements LoggingEventAware {
    private static final long serialVersionUID = 1L;

    LineLogger(String name) {
        this.name = name;
    }

    @Override
    public boolean isTraceEnabled() {
        return LogOutput.INSTANCE.enabled(name, Level.TRACE);
    }

    @Override
    public boolean isDebugEnabled() {
        return LogOutput.INSTANCE.enabled(name, Level.DEBUG);
    }

    @Override
    public boolean isInfoEnabled() {
        return LogOutput.INSTANCE.enabled(name, Level.INFO);
    }

    @Override
    public boolean isWarnEnabled() {
        return LogOutput.INSTANCE.enabled(name, Level.WARN);
    }

    @Override
    public boolean isErrorEnabled() {
        return LogOutput.INSTANCE.enabled(name, Level.ERROR);
    }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments, Throwable throwable) {
        LogOutput.INSTANCE.write(level, name, MessageFormatter.basicArrayFormat(pattern, arguments), List.of(), throwable, mdc());
    }

    /** The fluent API ({@code atInfo().addKeyValue(...)}): key-value pairs become fields of the line. */
    @Override
    public void log(LoggingEvent event) {
        if (!LogOutput.INSTANCE.enabled(name, event.getLevel())) {
            return;
        }
        Object[] arguments = event.getArgumentArray();
        Throwable throwable = event.getThrowable();
        if (throwable == null && arguments != null && arguments.length > 0 && arguments[arguments.length - 1] instanceof Throwable last) {
            throwable = last; // SLF4J's convention: a trailing throwable argument is the event's throwable
        }
        String message = MessageFormatter.basicArrayFormat(event.getMessage(), arguments);
        LogOutput.INSTANCE.write(event.getLevel(), name, message, event.getKeyValuePairs() == null ? List.of() : event.getKeyValuePairs(),
                throwable, mdc());
    }

    private static Map<String, String> mdc() {
        Map<String, String> copy = MDC.getCopyOfContextMap();
        return copy == null ? Map.of() : copy;
    }
}
