package io.lameduck.logging;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.event.KeyValuePair;
import org.slf4j.event.Level;

/**
 * Where log lines go and in what shape: the one place that decides, for every logger of the process (Lameduck's and
 * the libraries'). Lameduck's own loggers ({@code io.lameduck...}) log at the configured level, libraries at WARN and
 * above. JSON lines: {@code ts}, {@code level}, {@code logger}, {@code thread}, {@code msg}, MDC entries (such as
 * {@code requestId}), SLF4J key-value pairs ({@link RawJson} values embedded as they are), and {@code error}/{@code stack}
 * when a throwable is attached (we attach throwables only to unexpected errors). Text lines:
 * {@code HH:mm:ss.SSS LEVEL logger requestId - msg key=value}.
 */
final class LogOutput {
    private static final String OWN_LOGGERS = "io.lameduck";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
    /** Text lines shorten logger names to about this many characters, as {@code i.l.d.Propagation}. */
    private static final int TEXT_LOGGER_WIDTH = 20;

    static final LogOutput INSTANCE = new LogOutput();

    private volatile boolean json;
    private volatile Level ownLevel = Level.INFO;
    private volatile PrintStream out = System.out;
    private final List<LogCapture> captures = new CopyOnWriteArrayList<>();

    private LogOutput() {}

    void configure(boolean json, Level ownLevel, PrintStream out) {
        this.json = json;
        this.ownLevel = ownLevel;
        this.out = out;
    }

    void attach(LogCapture capture) {
        captures.add(capture);
    }

    void detach(LogCapture capture) {
        captures.remove(capture);
    }

    boolean enabled(String logger, Level level) {
        if (printed(logger, level)) {
            return true;
        }
        for (LogCapture capture : captures) {
            if (capture.wants(logger)) {
                return true;
            }
        }
        return false;
    }

    void write(Level level, String logger, String message, List<KeyValuePair> pairs, Throwable throwable, Map<String, String> mdc) {
        for (LogCapture capture : captures) {
            if (capture.wants(logger)) {
                capture.add(new LogCapture.Event(level, logger, message));
            }
        }
        if (!printed(logger, level)) {
            return; // let through for a capture only
        }
        String line = json ? jsonLine(level, logger, message, pairs, throwable, mdc) : textLine(level, logger, message, pairs, throwable, mdc);
        PrintStream target = out;
        synchronized (this) {
            target.print(line);
            target.flush();
        }
    }

    /** Whether a line of this logger and level is written out (captures see more). */
    private boolean printed(String logger, Level level) {
        Level threshold = logger.startsWith(OWN_LOGGERS) ? ownLevel : Level.WARN;
        return level.toInt() >= threshold.toInt();
    }

    private static String jsonLine(Level level, String logger, String message, List<KeyValuePair> pairs, Throwable throwable,
            Map<String, String> mdc) {
        StringBuilder line = new StringBuilder(256).append('{');
        field(line, "ts", Instant.ofEpochMilli(System.currentTimeMillis()).toString()).append(',');
        field(line, "level", level.toString()).append(',');
        field(line, "logger", logger).append(',');
        field(line, "thread", Thread.currentThread().getName()).append(',');
        field(line, "msg", message);
        for (Map.Entry<String, String> entry : mdc.entrySet()) {
            field(line.append(','), entry.getKey(), entry.getValue());
        }
        for (KeyValuePair pair : pairs) {
            line.append(',');
            if (pair.value instanceof RawJson raw) {
                quote(line, pair.key).append(':').append(raw.json());
            } else if (pair.value instanceof Number || pair.value instanceof Boolean) {
                quote(line, pair.key).append(':').append(pair.value);
            } else {
                field(line, pair.key, String.valueOf(pair.value));
            }
        }
        if (throwable != null) {
            field(line.append(','), "error", throwable.getClass().getName() + ": " + throwable.getMessage());
            field(line.append(','), "stack", stackOf(throwable));
        }
        return line.append("}\n").toString();
    }

    private static String textLine(Level level, String logger, String message, List<KeyValuePair> pairs, Throwable throwable,
            Map<String, String> mdc) {
        StringBuilder line = new StringBuilder(160);
        line.append(TIME.format(LocalTime.now(ZoneId.systemDefault()))).append(' ');
        String name = level.toString();
        line.append(name).append(" ".repeat(Math.max(0, 5 - name.length()))).append(' ');
        line.append(shortened(logger)).append(' ').append(mdc.getOrDefault("requestId", "")).append(" - ").append(message);
        line.append(' ');
        for (int i = 0; i < pairs.size(); i++) {
            KeyValuePair pair = pairs.get(i);
            line.append(i == 0 ? "" : " ").append(pair.key).append("=\"").append(pair.value).append('"');
        }
        line.append('\n');
        if (throwable != null) {
            line.append(stackOf(throwable));
        }
        return line.toString();
    }

    /** {@code io.lameduck.drain.Propagation} as {@code i.l.d.Propagation}: packages to their initials while too long. */
    static String shortened(String logger) {
        if (logger.length() <= TEXT_LOGGER_WIDTH) {
            return logger;
        }
        String[] parts = logger.split("\\.");
        StringBuilder result = new StringBuilder();
        int length = logger.length();
        for (int i = 0; i < parts.length - 1; i++) {
            if (length > TEXT_LOGGER_WIDTH && parts[i].length() > 1) {
                length -= parts[i].length() - 1;
                result.append(parts[i].charAt(0));
            } else {
                result.append(parts[i]);
            }
            result.append('.');
        }
        return result.append(parts[parts.length - 1]).toString();
    }

    private static String stackOf(Throwable throwable) {
        StringWriter text = new StringWriter();
        throwable.printStackTrace(new PrintWriter(text));
        return text.toString();
    }

    private static StringBuilder field(StringBuilder line, String key, String value) {
        quote(line, key).append(':');
        return value == null ? line.append("null") : quote(line, value);
    }

    private static StringBuilder quote(StringBuilder line, String text) {
        line.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> line.append("\\\"");
                case '\\' -> line.append("\\\\");
                case '\n' -> line.append("\\n");
                case '\r' -> line.append("\\r");
                case '\t' -> line.append("\\t");
                default -> {
                    if (c < 0x20) {
                        line.append(String.format("\\u%04x", (int) c));
                    } else {
                        line.append(c);
                    }
                }
            }
        }
        return line.append('"');
    }
}
