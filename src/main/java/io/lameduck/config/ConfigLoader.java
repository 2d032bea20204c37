package io.lameduck.config;

import io.lameduck.time.Durations;
import java.util.TreeSet;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lameduck.config.AgentConfig.Drain;
import io.lameduck.config.AgentConfig.ExecHook;
import io.lameduck.config.AgentConfig.HookAt;
import io.lameduck.config.AgentConfig.HookCommon;
import io.lameduck.config.AgentConfig.HookSpec;
import io.lameduck.config.AgentConfig.HttpHook;
import io.lameduck.config.AgentConfig.Kube;
import io.lameduck.config.AgentConfig.KubeMode;
import io.lameduck.config.AgentConfig.LastServingEndpoint;
import io.lameduck.config.AgentConfig.LogFormat;
import io.lameduck.config.AgentConfig.Logging;
import io.lameduck.config.AgentConfig.Metrics;
import io.lameduck.config.AgentConfig.OnFailure;
import io.lameduck.config.AgentConfig.PropagationSettings;
import io.lameduck.config.AgentConfig.PropagationMode;
import io.lameduck.config.AgentConfig.Security;
import io.lameduck.config.AgentConfig.Server;
import io.lameduck.config.AgentConfig.SleepHook;
import io.lameduck.config.AgentConfig.Strategy;
import io.lameduck.config.AgentConfig.WaitIdleHook;
import io.lameduck.config.AgentConfig.Withdraw;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Loads the agent configuration: the YAML file (optional), then {@code LAMEDUCK_*} environment
 * overrides, then strict validation. All problems are reported together in one
 * {@link ConfigException}.
 */
public final class ConfigLoader {
    /** Scalar settings that an environment variable may override; the variable name is derived from the path. */
    static final List<String> OVERRIDABLE = List.of(
            "server.host", "server.port",
            "security.nodeIp", "security.tokenFile", "security.trustGateway",
            "drain.budget", "drain.safetyMargin", "drain.propagationDelay",
            "drain.propagation.mode", "drain.propagation.quietPeriod", "drain.propagation.minimum",
            "drain.propagation.maximum", "drain.propagation.keepAliveWait", "drain.propagation.waitForIngresses",
            "drain.propagation.pollInterval",
            "drain.withdraw.strategy", "drain.withdraw.timeout", "drain.withdraw.label", "drain.withdraw.conditionType",
            "drain.withdraw.lastServingEndpoint",
            "metrics.jvm", "logging.format", "logging.level",
            "kube.mode", "kube.events", "kube.maintenanceAnnotation");
    /** The bearer token itself may come only from the environment (or a file), never the YAML. */
    public static final String TOKEN_ENV = "LAMEDUCK_TOKEN";
    /** A real configuration is a few KiB; the agent runs with a 32 MiB heap. */
    static final int MAX_CONFIG_BYTES = 256 * 1024;
    /** A bearer token (a service-account JWT is about 1 KiB). */
    static final int MAX_TOKEN_BYTES = 16 * 1024;

    private static final Pattern HOOK_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Set<String> HTTP_METHODS = Set.of("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD");
    /** Headers the JDK HTTP client refuses to set; rejecting them here beats failing mid-drain. */
    private static final Set<String> RESTRICTED_HEADERS = Set.of("connection", "content-length", "expect", "host", "upgrade");
    private static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error");

    private final Map<String, String> env;

    public ConfigLoader(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    public static ConfigLoader fromSystemEnvironment() {
        return new ConfigLoader(System.getenv());
    }

    /** Environment variable name for a configuration path: {@code drain.safetyMargin} → {@code LAMEDUCK_DRAIN_SAFETY_MARGIN}. */
    public static String envName(String path) {
        return "LAMEDUCK_" + path.replace('.', '_').replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
    }

    /** Loads {@code file}, or only defaults and the environment when {@code file} is empty. */
    public AgentConfig load(Optional<Path> file) throws ConfigException {
        JsonNode root = file.isPresent() ? readYaml(file.get()) : new ObjectMapper().createObjectNode();
        return bind(applyEnvironment(root), file.map(Path::toString).orElse("(no file)"));
    }

    /** Parses YAML text (for tests and {@code validate}). */
    public AgentConfig parse(String yaml) throws ConfigException {
        return bind(applyEnvironment(parseYaml(yaml, "<text>")), "<text>");
    }

    private static JsonNode readYaml(Path file) throws ConfigException {
        return parseYaml(readSmallFile(file, MAX_CONFIG_BYTES, "config file", "check the --config path and that the file is readable"),
                file.toString());
    }

    /**
     * The text of a small regular file (symbolic links followed, as Kubernetes mounts ConfigMaps and Secrets), read
     * without ever holding more than {@code maxBytes}: a FIFO, device or directory would block or never end, and a
     * huge file would exhaust the agent's small heap.
     */
    static String readSmallFile(Path file, int maxBytes, String what, String hint) throws ConfigException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new ConfigException(what + " " + file + " is not a regular file (a directory, FIFO or device); "
                    + "point to a file holding the " + what.replace(" file", ""));
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(maxBytes + 1);
        } catch (IOException e) {
            throw new ConfigException("cannot read " + what + " " + file + ": " + e.getMessage() + " (" + hint + ")");
        }
        if (bytes.length > maxBytes) {
            throw new ConfigException(what + " " + file + " is larger than " + maxBytes / 1024 + " KiB; "
                    + "that is not a Lameduck configuration (check the path)");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static JsonNode parseYaml(String text, String source) throws ConfigException {
        ObjectMapper mapper = new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        try (JsonParser parser = mapper.createParser(text)) {
            JsonNode root = mapper.readTree(parser);
            if (root != null && parser.nextToken() != null) {
                throw new ConfigException(source + ": holds more than one YAML document (a second one starts after line "
                        + parser.getCurrentLocation().getLineNr() + "); put the whole configuration in one document");
            }
            if (root == null || root.isMissingNode() || root.isNull()) {
                return new ObjectMapper().createObjectNode();
            }
            if (!root.isObject()) {
                throw new ConfigException(source + ": the top level must be a mapping (server:, drain:, ...), got " + Fields.describe(root));
            }
            return root;
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new ConfigException(source + ": not valid YAML" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException(source + ": cannot be read as YAML: " + e.getMessage());
        }
    }

    private JsonNode applyEnvironment(JsonNode root) {
        ObjectNode copy = ((ObjectNode) root).deepCopy();
        for (String path : OVERRIDABLE) {
            String value = env.get(envName(path));
            if (value == null) {
                continue;
            }
            String[] keys = path.split("\\.");
            ObjectNode parent = copy;
            for (int i = 0; i < keys.length - 1; i++) {
                JsonNode child = parent.get(keys[i]);
                parent = child instanceof ObjectNode object ? object : parent.putObject(keys[i]);
            }
            parent.put(keys[keys.length - 1], value);
        }
        return copy;
    }

    private AgentConfig bind(JsonNode root, String source) throws ConfigException {
        Fields top = new Fields(root, "", new ArrayList<>());
        AgentConfig config = read(top);
        if (!top.problems().isEmpty()) {
            throw new ConfigException(top.problems().stream().map(p -> source + ": " + p).toList());
        }
        return config;
    }

    /** Reads the whole configuration; its problems are in {@code top}'s list. Also how {@link ConfigSchema} records the schema. */
    AgentConfig read(Fields top) {
        top.allowOnly("server", "security", "drain", "metrics", "logging", "kube");
        return new AgentConfig(
                server(top.object("server")),
                security(top.object("security"), top.problems()),
                drain(top.object("drain")),
                metrics(top.object("metrics")),
                logging(top.object("logging")),
                kube(top.object("kube")));
    }

    private static Server server(Fields f) {
        f.allowOnly("host", "port");
        return new Server(f.string("host", "0.0.0.0"), f.integer("port", 7979, 0, 65535));
    }

    private Security security(Fields f, List<String> problems) {
        f.allowOnly("nodeIp", "tokenFile", "trustGateway");
        String nodeIp = f.string("nodeIp", "");
        if (nodeIp.isBlank()) {
            nodeIp = env.getOrDefault("HOST_IP", ""); // downward API status.hostIP
        }
        if (!nodeIp.isBlank() && Cidr.parse(nodeIp).filter(c -> c.prefixLength() == c.network().length * 8).isEmpty()) {
            problems.add(f.path("nodeIp") + ": got \"" + nodeIp + "\", expected an IP address (the downward API's status.hostIP)");
        }
        Optional<Path> tokenFile = Optional.ofNullable(f.string("tokenFile", null)).filter(s -> !s.isBlank()).map(Path::of);
        Optional<String> token = Optional.ofNullable(env.get(TOKEN_ENV)).map(String::strip).filter(s -> !s.isEmpty());
        if (tokenFile.isPresent() && token.isEmpty()) {
            try {
                token = Optional.of(readSmallFile(tokenFile.get(), MAX_TOKEN_BYTES, "token file", "mount the secret there or remove the setting")
                        .strip()).filter(s -> !s.isEmpty());
                if (token.isEmpty()) {
                    problems.add(f.path("tokenFile") + ": " + tokenFile.get() + " is empty; put the bearer token in it or remove the setting");
                }
            } catch (ConfigException e) {
                problems.add(f.path("tokenFile") + ": " + e.problems().get(0));
            }
        }
        return new Security(nodeIp, tokenFile, token, f.bool("trustGateway", true));
    }

    private static Drain drain(Fields f) {
        f.allowOnly("budget", "safetyMargin", "propagationDelay", "propagation", "withdraw", "hooks");
        Duration budget = f.duration("budget", Duration.ofSeconds(30));
        Duration margin = f.duration("safetyMargin", Duration.ofSeconds(2));
        Duration propagation = f.duration("propagationDelay", Duration.ofSeconds(2));
        if (budget.isZero()) {
            f.problem(f.path("budget") + ": must be more than 0s (it is the drain's whole time budget, like terminationGracePeriodSeconds)");
        } else if (margin.compareTo(budget) >= 0) {
            f.problem(f.path("safetyMargin") + ": " + Durations.format(margin) + " leaves no time in drain.budget "
                    + Durations.format(budget) + "; make it smaller than the budget");
        }
        PropagationSettings propagationMode = propagation(f.object("propagation"));
        Withdraw withdraw = withdraw(f.object("withdraw"));
        Set<String> names = new HashSet<>();
        List<HookSpec> hooks = f.mappings("hooks", HOOK_PROBES, item -> hook(item, names));
        return new Drain(budget, margin, propagation, propagationMode, withdraw, hooks);
    }

    /**
     * How long requests on already-open connections keep the propagate step waiting by default: an ingress that
     * applies endpoint changes up to 7 s late (the benchmark's lagging HAProxy Ingress: 5 s of batching plus its
     * rate limit of one update per 2 s), plus a second.
     */
    static final Duration KEEP_ALIVE_WAIT = Duration.ofSeconds(8);

    private static PropagationSettings propagation(Fields f) {
        f.allowOnly("mode", "ports", "quietPeriod", "minimum", "maximum", "keepAliveWait", "waitForIngresses", "pollInterval",
                "ignorePeers");
        PropagationMode mode = f.choice("mode", PropagationMode.FIXED, PropagationMode.values());
        List<Integer> ports = ports(f);
        if (mode == PropagationMode.QUIET && ports.isEmpty()) {
            f.problem(f.path("ports") + ": required with mode quiet; the application's listening ports, e.g. [8080]");
        }
        Duration quiet = positive(f, "quietPeriod", Duration.ofSeconds(1));
        // Without a rate, silence proves nothing: wait out a loaded kube-proxy (its rule programming took up to 3 s on
        // this project's 2-core node under load; a 2 s floor let InjectionOnNodeTest's idle pod stop while it still routed).
        Duration minimum = f.duration("minimum", Duration.ofSeconds(5));
        Duration maximum = positive(f, "maximum", Duration.ofSeconds(15));
        if (minimum.compareTo(maximum) > 0) {
            f.problem(f.path("minimum") + ": " + Durations.format(minimum) + " is more than maximum " + Durations.format(maximum)
                    + "; make it at most the maximum");
        }
        Duration keepAliveWait = f.duration("keepAliveWait", KEEP_ALIVE_WAIT);
        if (keepAliveWait.compareTo(maximum) > 0) {
            f.problem(f.path("keepAliveWait") + ": " + Durations.format(keepAliveWait) + " is more than maximum " + Durations.format(maximum)
                    + "; make it at most the maximum (the step never waits longer)");
        }
        return new PropagationSettings(mode, ports, quiet, minimum, maximum, keepAliveWait, f.bool("waitForIngresses", true),
                positive(f, "pollInterval", Duration.ofMillis(100)),
                cidrs(f, "ignorePeers"));
    }

    private static Duration positive(Fields f, String key, Duration defaultValue) {
        Duration value = f.duration(key, defaultValue);
        if (value.isZero()) {
            f.problem(f.path(key) + ": must be more than 0s");
        }
        return value;
    }

    private static Withdraw withdraw(Fields f) {
        f.allowOnly("strategy", "timeout", "label", "conditionType", "lastServingEndpoint");
        return new Withdraw(
                f.choice("strategy", Strategy.PROBE, Strategy::configName, Strategy.values()),
                f.duration("timeout", Duration.ofSeconds(10)),
                f.string("label", "lameduck.io/serving"),
                f.string("conditionType", "lameduck.io/serving"),
                f.choice("lastServingEndpoint", LastServingEndpoint.WITHDRAW, LastServingEndpoint.values()));
    }

    /** The hook types; one probe each, for the schema's variants. */
    static final List<String> HOOK_TYPES = List.of("http", "exec", "sleep", "wait-idle");
    private static final List<ObjectNode> HOOK_PROBES = HOOK_TYPES.stream()
            .map(type -> JsonNodeFactory.instance.objectNode().put("type", type)).toList();

    private static HookSpec hook(Fields f, Set<String> names) {
        String type = f.string("type", null);
        List<String> common = List.of("name", "type", "at", "priority", "timeout", "onFailure");
        List<String> specific = switch (type == null ? "" : type) {
            case "http" -> List.of("method", "url", "headers", "expectStatus", "connectTimeout", "readTimeout");
            case "exec" -> List.of("command", "env", "workingDir");
            case "sleep" -> List.of("duration");
            case "wait-idle" -> List.of("ports", "quietPeriod", "pollInterval", "ignorePeers");
            default -> List.of();
        };
        if (type == null) {
            f.problem(f.path("type") + ": required; one of " + String.join(", ", HOOK_TYPES));
        } else if (specific.isEmpty()) {
            f.problem(f.path("type") + ": got \"" + type + "\", expected one of " + String.join(", ", HOOK_TYPES));
        } else {
            List<String> allowed = new ArrayList<>(common);
            allowed.addAll(specific);
            f.allowOnly(allowed.toArray(String[]::new));
        }
        String name = f.requiredString("name").orElse("");
        if (!name.isEmpty() && !HOOK_NAME.matcher(name).matches()) {
            f.problem(f.path("name") + ": got \"" + name + "\", expected letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit)");
        } else if (!name.isEmpty() && !names.add(name)) {
            f.problem(f.path("name") + ": duplicate hook name \"" + name + "\"; hook names must be unique");
        }
        Duration timeout = f.duration("timeout", Duration.ofSeconds(10));
        if (timeout.isZero()) {
            f.problem(f.path("timeout") + ": must be more than 0s");
        }
        HookCommon hookCommon = new HookCommon(name, f.integer("priority", 0, -1_000_000, 1_000_000), timeout,
                f.choice("onFailure", OnFailure.CONTINUE, OnFailure.values()), f.choice("at", HookAt.QUIET, HookAt.values()));
        if (type == null || specific.isEmpty()) {
            return null;
        }
        return switch (type) {
            case "http" -> httpHook(f, hookCommon);
            case "exec" -> execHook(f, hookCommon);
            case "sleep" -> sleepHook(f, hookCommon);
            default -> waitIdleHook(f, hookCommon);
        };
    }

    private static HttpHook httpHook(Fields f, HookCommon common) {
        String method = f.string("method", "POST").toUpperCase(Locale.ROOT);
        if (!HTTP_METHODS.contains(method)) {
            f.problem(f.path("method") + ": got \"" + method + "\", expected one of " + String.join(", ", new TreeSet<>(HTTP_METHODS)));
        }
        URI url = f.requiredString("url").map(text -> httpUrl(f, text)).orElse(null);
        int expect = f.integer("expectStatus", 0, 0, 599);
        if (expect != 0 && expect < 100) {
            f.problem(f.path("expectStatus") + ": got " + expect + ", expected an HTTP status from 100 to 599 (or 0 for any 2xx)");
        }
        Map<String, String> headers = f.stringMap("headers");
        for (String header : headers.keySet()) {
            if (RESTRICTED_HEADERS.contains(header.toLowerCase(Locale.ROOT))) {
                f.problem(f.path("headers") + "." + header + ": this header is set by the HTTP client and cannot be configured; remove it");
            }
        }
        return new HttpHook(common, method, url, headers, expect,
                f.duration("connectTimeout", Duration.ofSeconds(1)), f.duration("readTimeout", common.timeout()));
    }

    private static URI httpUrl(Fields f, String text) {
        try {
            URI uri = new URI(text);
            if (uri.getScheme() != null && (uri.getScheme().equals("http") || uri.getScheme().equals("https")) && uri.getHost() != null) {
                return uri;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        f.problem(f.path("url") + ": got \"" + text + "\", expected an absolute http:// or https:// URL such as http://127.0.0.1:8080/drain");
        return null;
    }

    private static ExecHook execHook(Fields f, HookCommon common) {
        boolean given = f.require("command", "required; the program and its arguments, e.g. [\"/app/bin/flush\", \"--fast\"]");
        List<String> command = f.stringList("command");
        if (given && (command.isEmpty() || command.get(0).isBlank())) {
            f.problem(f.path("command") + ": must name a program as its first item");
        }
        Optional<Path> workingDir = Optional.ofNullable(f.string("workingDir", null)).map(Path::of);
        return new ExecHook(common, command, f.stringMap("env"), workingDir);
    }

    private static SleepHook sleepHook(Fields f, HookCommon common) {
        f.require("duration", "required; how long to sleep, " + Durations.FORMAT_HINT);
        return new SleepHook(common, f.duration("duration", Duration.ZERO));
    }

    private static List<Integer> ports(Fields f) {
        return f.list("ports", SchemaRecorder.wholeNumber(1, 65535), (item, path) -> {
            if (!item.canConvertToInt() || !item.isIntegralNumber() || item.asInt() < 1 || item.asInt() > 65535) {
                f.problem(path + ": got " + Fields.describe(item) + ", expected a TCP port from 1 to 65535");
                return null;
            }
            return item.asInt();
        });
    }

    private static List<Cidr> cidrs(Fields f, String key) {
        return f.list(key, SchemaRecorder.text(), (item, path) -> {
            Optional<Cidr> cidr = Cidr.parse(item.asText());
            if (cidr.isEmpty()) {
                f.problem(path + ": got " + Fields.describe(item) + ", expected an IP network such as 10.0.0.0/8 or ::1/128");
            }
            return cidr.orElse(null);
        });
    }

    private static WaitIdleHook waitIdleHook(Fields f, HookCommon common) {
        List<Integer> ports = ports(f);
        f.require("ports", "required; the application's listening ports, e.g. [8080]");
        Duration poll = f.duration("pollInterval", Duration.ofMillis(200));
        if (poll.isZero()) {
            f.problem(f.path("pollInterval") + ": must be more than 0s");
        }
        return new WaitIdleHook(common, ports, f.duration("quietPeriod", Duration.ofSeconds(1)), poll, cidrs(f, "ignorePeers"));
    }

    private static Metrics metrics(Fields f) {
        f.allowOnly("jvm");
        return new Metrics(f.bool("jvm", false));
    }

    private static Logging logging(Fields f) {
        f.allowOnly("format", "level");
        String level = f.string("level", "info").toLowerCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(level)) {
            f.problem(f.path("level") + ": got \"" + level + "\", expected one of debug, error, info, trace, warn");
        }
        return new Logging(f.choice("format", LogFormat.JSON, LogFormat.values()), level);
    }

    private static Kube kube(Fields f) {
        f.allowOnly("mode", "events", "maintenanceAnnotation");
        return new Kube(f.choice("mode", KubeMode.AUTO, KubeMode.values()), f.bool("events", true),
                f.string("maintenanceAnnotation", "lameduck.io/maintenance"));
    }
}
