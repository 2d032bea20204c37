package io.lameduck.cli;

import io.lameduck.config.AgentConfig.LogFormat;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * The agent's command line read without picocli, on the path every pod takes to READY. Building picocli's model of
 * the commands costs a fresh JVM about 0.1 CPU-seconds (its reflection over the annotations: measured on the host,
 * 0.16–0.20 CPU-seconds for the model, about 0.13 of it not shared with the configuration's loading), a tenth of
 * what the agent spends before the pod can be Ready (docs/performance.md, "Footprint").
 *
 * <p>Only the forms a container runs are read here: {@code serve} followed by {@code -c}/{@code --config} and
 * {@code --log-format}, each at most once, as separate or joined ({@code --config=FILE}, {@code -cFILE}) arguments.
 * Anything else (help, a typo, a repeated option, a value picocli would refuse) is left to picocli, which stays the
 * reference: its parse of the same arguments gives the same command ({@code ServeArgumentsTest} holds the two
 * together, option by option).
 */
public final class ServeArguments {
    private ServeArguments() {}

    /**
     * The {@code serve} command for {@code args}, or empty when picocli must read them.
     *
     * @param env the process's environment ({@code LAMEDUCK_CONFIG} is the config option's default)
     */
    public static Optional<Callable<Integer>> fastPath(String[] args, Map<String, String> env) {
        return parse(args, env).map(parsed -> parsed);
    }

    static Optional<ServeCommand> parse(String[] args, Map<String, String> env) {
        if (args.length == 0 || !args[0].equals("serve")) {
            return Optional.empty();
        }
        String config = null;
        String logFormat = null;
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            String name;
            String value;
            int equals = arg.indexOf('=');
            if (arg.startsWith("--") && equals > 0) {
                name = arg.substring(0, equals);
                value = arg.substring(equals + 1);
            } else if (arg.startsWith("-c") && arg.length() > 2 && !arg.startsWith("--")) {
                name = "-c";
                value = arg.charAt(2) == '=' ? arg.substring(3) : arg.substring(2);
            } else if (i + 1 < args.length) {
                name = arg;
                value = args[++i];
            } else {
                return Optional.empty(); // a lone word or an option without its value: picocli says what is wrong
            }
            if (value.isEmpty() || value.startsWith("-") || (equals > 0 && value.contains("="))) {
                return Optional.empty(); // left to picocli's own rules
            }
            switch (name) {
                case "-c", "--config" -> {
                    if (config != null) {
                        return Optional.empty(); // given twice: picocli refuses it
                    }
                    config = value;
                }
                case "--log-format" -> {
                    if (logFormat != null) {
                        return Optional.empty();
                    }
                    logFormat = value;
                }
                default -> {
                    return Optional.empty();
                }
            }
        }
        Optional<LogFormat> format = logFormat == null ? Optional.empty() : logFormat(logFormat);
        if (logFormat != null && format.isEmpty()) {
            return Optional.empty();
        }
        if (config == null) {
            config = env.get("LAMEDUCK_CONFIG");
            if (config != null && config.isEmpty()) {
                return Optional.empty();
            }
        }
        ServeCommand serve = new ServeCommand();
        try {
            serve.config = config == null ? null : Path.of(config);
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
        serve.logFormat = format.orElse(null);
        return Optional.of(serve);
    }

    /** A log format as picocli reads it with case-insensitive enum values; empty for any other word. */
    private static Optional<LogFormat> logFormat(String value) {
        for (LogFormat format : LogFormat.values()) {
            if (format.name().equals(value.toUpperCase(Locale.ROOT))) {
                return Optional.of(format);
            }
        }
        return Optional.empty();
    }
}
