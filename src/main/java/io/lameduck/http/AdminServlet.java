package io.lameduck.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.lameduck.drain.DrainReport;
import io.lameduck.maintenance.Maintenance;
import io.lameduck.maintenance.MaintenanceStatus;
import io.lameduck.drain.Trigger;
import io.lameduck.restart.RestartStatus;
import io.lameduck.lifecycle.LifecycleSnapshot;
import io.lameduck.lifecycle.State;
import io.lameduck.time.Durations;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Routes admin requests to the agent. Every answer is JSON; every error says what was wrong. */
final class AdminServlet extends HttpServlet {
    static final int MAX_BODY_BYTES = 64 * 1024;
    /** A control request's body must arrive within this; a client that trickles it gets 408. */
    static final Duration BODY_TIMEOUT = Duration.ofSeconds(5);
    /** Control requests with a body at once; the server has 30 threads, probes must always find one. */
    static final int MAX_BODIES_IN_FLIGHT = 8;
    /** Extra time a /prestop caller waits past the drain deadline before getting the live report. */
    private static final Duration PRESTOP_GRACE = Duration.ofSeconds(2);
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(AdminServlet.class);

    @FunctionalInterface
    private interface Handler {
        void handle(HttpServletRequest request, HttpServletResponse response) throws RequestRejectedException, IOException;
    }

    private record Route(Map<String, Handler> byMethod, Set<String> controlMethods) {}

    private final transient AdminServer.Wiring agent;
    private final transient ControlAccess access;
    private final transient Runnable prestopRefused;
    private final transient Map<String, Route> routes = new LinkedHashMap<>();
    private final transient BodyReader bodies = new BodyReader(MAX_BODY_BYTES, BODY_TIMEOUT, MAX_BODIES_IN_FLIGHT);

    AdminServlet(AdminServer.Wiring agent, ControlAccess access, Runnable prestopRefused) {
        this.agent = agent;
        this.access = access;
        this.prestopRefused = prestopRefused;
        routes.put("/livez", new Route(Map.of("GET", this::livez), Set.of()));
        routes.put("/healthz", new Route(Map.of("GET", this::livez), Set.of()));
        routes.put("/readyz", new Route(Map.of("GET", this::readyz), Set.of()));
        routes.put("/status", new Route(Map.of("GET", this::status), Set.of()));
        routes.put("/maintenance", new Route(
                Map.of("GET", this::maintenanceStatus, "PUT", this::maintenanceOn, "DELETE", this::maintenanceOff),
                Set.of("PUT", "DELETE")));
        routes.put("/prestop", new Route(Map.of("GET", this::prestop, "POST", this::prestop), Set.of("GET", "POST")));
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String requestId = (String) request.getAttribute(RequestFilter.REQUEST_ID_ATTRIBUTE);
        String path = request.getRequestURI();
        Route route = routes.get(path);
        try {
            if (route == null) {
                throw new RequestRejectedException(404, "no endpoint at " + path + "; endpoints: " + String.join(", ", routes.keySet()) + ", /metrics");
            }
            Handler handler = route.byMethod().get(request.getMethod());
            if (handler == null) {
                throw new RequestRejectedException(405, "method " + request.getMethod() + " is not allowed on " + path
                        + "; allowed: " + String.join(", ", new TreeSet<>(route.byMethod().keySet())));
            }
            if (route.controlMethods().contains(request.getMethod())) {
                boolean prestop = path.equals("/prestop");
                Optional<String> denied = prestop
                        ? access.checkPrestop(request.getRemoteAddr(), request.getHeader("Authorization"))
                        : access.check(request.getRemoteAddr(), request.getHeader("Authorization"));
                if (denied.isPresent()) {
                    if (prestop) {
                        prestopRefused.run();
                        LOG.warn("REFUSED /prestop: {} {} from {}: {} (counted in lameduck_prestop_refused_total)",
                                request.getMethod(), path, request.getRemoteAddr(), denied.get());
                    } else {
                        LOG.warn("denied {} {} from {}: {}", request.getMethod(), path, request.getRemoteAddr(), denied.get());
                    }
                    throw new RequestRejectedException(403, denied.get());
                }
            }
            handler.handle(request, response);
        } catch (RequestRejectedException e) {
            String allow = e.status() == 405 ? String.join(", ", new TreeSet<>(route.byMethod().keySet())) : null;
            writeError(response, requestId, e, allow);
        }
    }

    private void livez(HttpServletRequest request, HttpServletResponse response) throws IOException {
        State state = agent.lifecycle().state();
        boolean healthy = state != State.FAILED;
        write(response, healthy ? 200 : 503, Map.of("status", healthy ? "ok" : "failed", "state", state));
    }

    private void readyz(HttpServletRequest request, HttpServletResponse response) throws IOException {
        LifecycleSnapshot lifecycle = agent.lifecycle().snapshot();
        MaintenanceStatus maintenance = agent.maintenance().status();
        RestartStatus restart = agent.restart().get();
        boolean starting = lifecycle.state() == State.CREATED || lifecycle.state() == State.STARTING;
        boolean ready = lifecycle.state() == State.READY && !maintenance.active() && !restart.active()
                || starting && agent.readyWhileStarting();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("ready", ready);
        body.put("state", lifecycle.state());
        if (ready && starting) {
            body.put("reason", StartingHandler.READY_WHILE_STARTING);
        } else if (!ready) {
            // The state first: once a drain began, it is why (maintenance, if still shown for a moment, is superseded).
            body.put("reason", lifecycle.state() != State.READY
                    ? "state is " + lifecycle.state() + (lifecycle.reason().isEmpty() ? "" : " (" + lifecycle.reason() + ")")
                    : maintenance.active() ? "maintenance: " + maintenance.reason()
                    : "container restart (" + restart.trigger().label() + "): " + restart.phase());
        }
        write(response, ready ? 200 : 503, body);
    }

    private void status(HttpServletRequest request, HttpServletResponse response) throws IOException {
        LifecycleSnapshot lifecycle = agent.lifecycle().snapshot();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("version", agent.version());
        body.put("state", lifecycle.state());
        body.put("history", lifecycle.history());
        body.put("maintenance", agent.maintenance().status());
        body.put("withdrawStrategy", agent.drains().strategy());
        body.put("drain", agent.drains().report().orElse(null));
        RestartStatus restart = agent.restart().get();
        body.put("restart", restart.phase() == null ? null : restart);
        body.put("config", agent.configSummary());
        write(response, 200, body);
    }

    private void maintenanceStatus(HttpServletRequest request, HttpServletResponse response) throws IOException {
        write(response, 200, agent.maintenance().status());
    }

    private void maintenanceOn(HttpServletRequest request, HttpServletResponse response) throws RequestRejectedException, IOException {
        bodies.read(request, response, bytes -> maintenanceOn(parseJsonObject(bytes), response));
    }

    private void maintenanceOn(JsonNode body, HttpServletResponse response) throws RequestRejectedException, IOException {
        Iterator<String> names = body.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!name.equals("reason") && !name.equals("ttl")) {
                throw new RequestRejectedException(400, "unknown field \"" + name + "\"; allowed: reason (required), ttl (optional, e.g. \"10m\")");
            }
        }
        JsonNode reasonNode = body.get("reason");
        if (reasonNode == null || !reasonNode.isTextual() || reasonNode.asText().isBlank()) {
            throw new RequestRejectedException(400, "field \"reason\" is required: a non-empty string saying why, e.g. {\"reason\": \"db migration\", \"ttl\": \"10m\"}");
        }
        String reason = reasonNode.asText().strip();
        if (reason.length() > 256) {
            throw new RequestRejectedException(400, "field \"reason\" is " + reason.length() + " characters long; at most 256 are allowed");
        }
        Optional<Duration> ttl = Optional.empty();
        JsonNode ttlNode = body.get("ttl");
        if (ttlNode != null && !ttlNode.isNull()) {
            ttl = ttlNode.isTextual() ? Durations.parse(ttlNode.asText()).filter(Durations.Range.TTL::contains) : Optional.empty();
            if (ttl.isEmpty()) {
                throw new RequestRejectedException(400, "field \"ttl\" is " + ttlNode + "; expected a duration " + Durations.Range.TTL.describe()
                        + " such as 30s, 10m or 1h");
            }
        }
        try {
            write(response, 200, agent.maintenance().enter(reason, ttl));
        } catch (Maintenance.NotAllowedException e) {
            throw new RequestRejectedException(409, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RequestRejectedException(503, "interrupted while entering maintenance; the agent is stopping");
        }
    }

    private void maintenanceOff(HttpServletRequest request, HttpServletResponse response) throws RequestRejectedException, IOException {
        try {
            write(response, 200, agent.maintenance().exit("turned off by request"));
        } catch (Maintenance.NotAllowedException e) {
            throw new RequestRejectedException(409, e.getMessage());
        }
    }

    /** Starts or joins the drain and answers when it is done, without holding a thread meanwhile. */
    private void prestop(HttpServletRequest request, HttpServletResponse response) throws RequestRejectedException {
        String triggerName = Optional.ofNullable(request.getParameter("trigger")).orElse("prestop");
        Trigger trigger = switch (triggerName) {
            case "prestop" -> Trigger.PRESTOP;
            case "cli" -> Trigger.CLI;
            default -> throw new RequestRejectedException(400, "query parameter trigger=" + triggerName + " is not known; use prestop or cli");
        };
        String forGood = Optional.ofNullable(request.getParameter("final")).orElse("false");
        if (!forGood.equals("true") && !forGood.equals("false")) {
            throw new RequestRejectedException(400, "query parameter final=" + forGood + " is not known; use final=true to drain for good "
                    + "(also on a pod that is not being deleted), or leave it out");
        }
        var future = agent.prestop().prestop(trigger, forGood.equals("true"));
        AsyncContext async = request.startAsync();
        // The container's own timeout is off: the wait is bounded by the drain's deadline (+ grace), which is known
        // only once the drain has read its budget (an API read, itself bounded). A fixed timeout taken now would
        // answer a /prestop that joins a drain still reading its budget after PRESTOP_GRACE alone — and the kubelet
        // would SIGTERM the app mid-drain (seen on a real node with the native sidecar).
        async.setTimeout(0);
        AtomicBoolean answered = new AtomicBoolean();
        agent.drains().deadlineFixed().thenAccept(deadline -> CompletableFuture.runAsync(() -> {
            if (answered.compareAndSet(false, true)) {
                // The drain never outlives its deadline, so this is a last resort: answer with what we know.
                try {
                    write(response, 200, agent.drains().report().orElse(null));
                } catch (IOException | IllegalStateException e) {
                    LOG.info("prestop caller went away before the deadline: {}", e.toString());
                } finally {
                    async.complete();
                }
            }
        }, CompletableFuture.delayedExecutor(deadline.remaining().plus(PRESTOP_GRACE).toMillis(), TimeUnit.MILLISECONDS)));
        future.whenComplete((DrainReport report, Throwable error) -> {
            if (answered.compareAndSet(false, true)) {
                try {
                    write(response, 200, report);
                } catch (IOException | IllegalStateException e) {
                    LOG.info("prestop caller went away before the report was ready: {}", e.toString());
                } finally {
                    async.complete();
                }
            }
        });
    }

    private static JsonNode parseJsonObject(byte[] body) throws RequestRejectedException {
        if (body.length == 0) {
            throw new RequestRejectedException(400, "request body is empty; send a JSON object such as {\"reason\": \"db migration\", \"ttl\": \"10m\"}");
        }
        try {
            JsonNode node = Json.MAPPER.readTree(new String(body, StandardCharsets.UTF_8));
            if (node == null || !node.isObject()) {
                throw new RequestRejectedException(400, "request body must be a JSON object, such as {\"reason\": \"db migration\"}");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new RequestRejectedException(400, "request body is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")"));
        }
    }

    static void write(HttpServletResponse response, int status, Object body) throws IOException {
        byte[] bytes = (Json.write(body) + "\n").getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
    }

    static void writeError(HttpServletResponse response, String requestId, RequestRejectedException error, String allow) throws IOException {
        if (allow != null) {
            response.setHeader("Allow", allow);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", error.status());
        body.put("error", error.getMessage());
        body.put("requestId", requestId);
        write(response, error.status(), body);
    }
}
