package io.lameduck.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * What the admin listener answers while the agent is still being wired (connecting to the Kubernetes API, reading its
 * pod, checking RBAC), before {@link AdminServer#serve} installs the endpoints: {@code /livez} 200 (the JVM is up and
 * nothing has failed; a failure to connect ends the process), {@code /readyz} as the start-up allows (see
 * {@link AdminServer.Wiring#readyWhileStarting()}), and 503 with {@code Retry-After} for everything else.
 * Listening this early lets the kubelet's start-up and readiness probes pass while the agent connects, instead of
 * one after the other once it is READY.
 */
final class StartingHandler extends Handler.Abstract.NonBlocking {
    private static final String NOT_READY_REASON = "state is STARTING (connecting to the Kubernetes API)";

    private final boolean readyWhileStarting;

    StartingHandler(boolean readyWhileStarting) {
        this.readyWhileStarting = readyWhileStarting;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        boolean probe = "/livez".equals(path) || "/readyz".equals(path);
        if (probe && !HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
            response.getHeaders().put(HttpHeader.ALLOW, "GET");
            return write(response, callback, 405, object("status", 405, "error", "method " + request.getMethod() + " not allowed on " + path));
        }
        if ("/livez".equals(path)) {
            return write(response, callback, 200, object("status", "ok", "state", "STARTING"));
        }
        if ("/readyz".equals(path)) {
            return write(response, callback, readyWhileStarting ? 200 : 503, object("ready", readyWhileStarting, "state", "STARTING",
                    "reason", readyWhileStarting ? READY_WHILE_STARTING : NOT_READY_REASON));
        }
        response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        return write(response, callback, 503, object("status", 503, "error", "the agent is starting (connecting to the Kubernetes API); "
                + "only /livez and /readyz answer yet: retry in a moment"));
    }

    /** Why {@code /readyz} passes before READY: the pod's readiness gate, which only the agent sets, holds the pod out. */
    static final String READY_WHILE_STARTING = "starting: the container may be ready, the pod is not: its readiness gate "
            + "stays unset until the agent marks it serving";

    /** A JSON object of the keys and values in this order. */
    private static Map<String, Object> object(Object... keysAndValues) {
        Map<String, Object> object = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            object.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return object;
    }

    private static boolean write(Response response, Callback callback, int status, Map<String, Object> body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap((Json.write(body) + "\n").getBytes(StandardCharsets.UTF_8)), callback);
        return true;
    }
}
