package io.lameduck.cli;

import java.util.concurrent.Callable;
import io.lameduck.http.Json;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lameduck maintenance on|off|status}: withdraw the pod at runtime without restarting anything. */
@Command(name = "maintenance", mixinStandardHelpOptions = true, description = "Turn maintenance mode on or off, or show it.",
        subcommands = {MaintenanceCommand.On.class, MaintenanceCommand.Off.class, MaintenanceCommand.Status.class})
final class MaintenanceCommand {
    /** Enough for a withdrawal to be confirmed (drain.withdraw.timeout defaults to 10s). */
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Command(name = "on", mixinStandardHelpOptions = true, description = "Withdraw the pod from endpoints, with a reason.")
    static final class On implements Callable<Integer> {
        @Mixin
        ClientOptions options;

        @Option(names = "--reason", required = true, description = "Why (shown in /status, logs and Events).")
        String reason;

        @Option(names = "--ttl", paramLabel = "DURATION", description = "End maintenance by itself after this long, e.g. 10m.")
        String ttl;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("reason", reason);
            if (ttl != null) {
                body.put("ttl", ttl);
            }
            return options.printReply("PUT", "maintenance", Json.write(body), TIMEOUT);
        }
    }

    @Command(name = "off", mixinStandardHelpOptions = true, description = "Put the pod back into endpoints.")
    static final class Off implements Callable<Integer> {
        @Mixin
        ClientOptions options;

        @Override
        public Integer call() throws Exception {
            return options.printReply("DELETE", "maintenance", null, TIMEOUT);
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show maintenance mode.")
    static final class Status implements Callable<Integer> {
        @Mixin
        ClientOptions options;

        @Override
        public Integer call() throws Exception {
            return options.printReply("GET", "maintenance", null, Duration.ofSeconds(10));
        }
    }
}
