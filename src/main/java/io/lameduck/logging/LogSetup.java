package io.lameduck.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import org.slf4j.LoggerFactory;

/** Configures logback in code, so the format and level follow the agent's configuration. */
public final class LogSetup {
    private LogSetup() {}

    /**
     * @param json JSON lines (default) or plain text
     * @param level the level for Lameduck's own loggers; libraries log at WARN and above
     * @param stderr log to stderr (CLI client commands keep stdout for their output)
     */
    public static void configure(boolean json, String level, boolean stderr) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.reset();
        Encoder<ILoggingEvent> encoder;
        if (json) {
            JsonLineEncoder jsonEncoder = new JsonLineEncoder();
            jsonEncoder.setContext(context);
            encoder = jsonEncoder;
        } else {
            PatternLayoutEncoder pattern = new PatternLayoutEncoder();
            pattern.setContext(context);
            pattern.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{20} %X{requestId} - %msg %kvp%n");
            encoder = pattern;
        }
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("console");
        console.setTarget(stderr ? "System.err" : "System.out");
        console.setEncoder(encoder);
        console.start();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(console);
        context.getLogger("io.lameduck").setLevel(Level.toLevel(level, Level.INFO));
    }
}
