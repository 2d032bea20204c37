package io.lameduck.logging;

import java.util.Locale;
import org.slf4j.event.Level;

/** Sets the log format and level from the agent's configuration (until then: text lines, INFO). */
public final class LogSetup {
    private LogSetup() {}

    /**
     * @param json JSON lines (default) or plain text
     * @param level the level for Lameduck's own loggers ({@code trace} to {@code error}, as the configuration allows);
     *     libraries log at WARN and above
     * @param stderr log to stderr (CLI client commands keep stdout for their output)
     */
    public static void configure(boolean json, String level, boolean stderr) {
        LogOutput.INSTANCE.configure(json, levelOf(level), stderr ? System.err : System.out);
    }

    private static Level levelOf(String level) {
        try {
            return Level.valueOf(level.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return Level.INFO;
        }
    }
}
