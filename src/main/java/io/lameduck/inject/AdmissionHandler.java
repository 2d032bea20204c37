package io.lameduck.inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /mutate}: AdmissionReview v1 in, AdmissionReview v1 out with a JSON patch.
 *
 * <p>Never blocks a pod and never answers 500: a body that is not an AdmissionReview v1 with a request uid gets
 * a 4xx JSON error naming the problem (the API server then applies the webhook's failurePolicy); every
 * AdmissionReview that can be answered is answered {@code allowed: true}, unchanged when the pod is skipped or
 * an error occurs, with the reason as an admission warning (shown by kubectl) and counted in
 * {@link InjectorMetrics}. Bodies are capped at {@link #MAX_BODY_BYTES}; the connector's idle timeout bounds
 * a slow client.
 */
public final class AdmissionHandler extends Handler.Abstract {
    /** The API server caps an object at 3 MiB; an AdmissionReview carries it (and for CREATE no old object). */
    static final int MAX_BODY_BYTES = 4 * 1024 * 1024;
    private static final Logger LOG = LoggerFactory.getLogger(AdmissionHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String API_VERSION = "admission.k8s.io/v1";

    private final PodInjector injector;
    private final AgentRoleBinder binder;
    private final InjectorMetrics metrics;

    public AdmissionHandler(PodInjector injector, AgentRoleBinder binder, InjectorMetrics metrics) {
        this.injector = injector;
        this.binder = binder;
        this.metrics = metrics;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            if (!"/mutate".equals(Request.getPathInContext(request))) {
                return error(response, callback, HttpStatus.NOT_FOUND_404, "no such endpoint; the admission webhook is POST /mutate");
            }
            if (!HttpMethod.POST.is(request.getMethod())) {
                return error(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "use POST with an AdmissionReview v1 JSON body");
            }
            String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
            if (type == null || !type.toLowerCase().startsWith("application/json")) {
                return error(response, callback, HttpStatus.UNSUPPORTED_MEDIA_TYPE_415,
                        "Content-Type is " + type + "; expected application/json (an AdmissionReview v1)");
            }
            long length = request.getLength();
            if (length > MAX_BODY_BYTES) {
                return error(response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413, "body of " + length + " bytes; at most " + MAX_BODY_BYTES);
            }
            byte[] body = readAtMost(request, MAX_BODY_BYTES);
            if (body == null) {
                return error(response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413, "body larger than " + MAX_BODY_BYTES + " bytes");
            }
            JsonNode review;
            try {
                review = JSON.readTree(body);
            } catch (JsonProcessingException e) {
                return error(response, callback, HttpStatus.BAD_REQUEST_400, "body is not JSON: " + e.getOriginalMessage());
            }
            String problem = reviewProblem(review);
            if (problem != null) {
                return error(response, callback, HttpStatus.BAD_REQUEST_400, problem);
            }
            ok(response, callback, answer(review.get("request")));
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("admission request failed: {}", e.toString(), e);
            metrics.failed(InjectorMetrics.Failure.ERROR);
            return error(response, callback, HttpStatus.BAD_REQUEST_400, "cannot read the request: " + e.getMessage());
        }
    }

    /** What makes {@code review} unanswerable, or null. */
    private static String reviewProblem(JsonNode review) {
        if (review == null || !review.isObject()) {
            return "body is not a JSON object; expected an AdmissionReview v1";
        }
        if (!API_VERSION.equals(review.path("apiVersion").asText()) || !"AdmissionReview".equals(review.path("kind").asText())) {
            return "apiVersion/kind is " + review.path("apiVersion").asText("(none)") + "/" + review.path("kind").asText("(none)")
                    + "; expected " + API_VERSION + "/AdmissionReview (set admissionReviewVersions: [v1] in the webhook)";
        }
        if (!review.path("request").isObject()) {
            return "AdmissionReview has no request object";
        }
        if (review.path("request").path("uid").asText("").isEmpty()) {
            return "AdmissionReview request has no uid";
        }
        return null;
    }

    /** The response for an answerable request; allowed in every case. */
    private ObjectNode answer(JsonNode request) {
        ObjectNode response = JSON.createObjectNode().put("uid", request.get("uid").asText()).put("allowed", true);
        String namespace = request.path("namespace").asText("");
        JsonNode pod = request.path("object");
        String podName = pod.path("metadata").path("name").asText(pod.path("metadata").path("generateName").asText("") + "*");
        if (!"Pod".equals(request.path("kind").path("kind").asText()) || !"CREATE".equals(request.path("operation").asText())
                || !pod.isObject()) {
            return skipped(response, pod, namespace, podName, new Decision.Skip(SkipReason.NOT_A_POD_CREATE,
                    "the injector handles pod CREATE only; got " + request.path("kind").path("kind").asText("(no kind)") + " "
                            + request.path("operation").asText("(no operation)") + (pod.isObject() ? "" : " without an object")));
        }
        Decision decision;
        try {
            decision = injector.decide(pod);
        } catch (RuntimeException e) {
            LOG.error("injecting pod {}/{} failed: {}", namespace, podName, e.toString(), e);
            metrics.failed(InjectorMetrics.Failure.ERROR);
            return response.set("warnings", JSON.createArrayNode().add("lameduck injector: pod left unchanged after an error: " + e));
        }
        if (decision instanceof Decision.Skip skip) {
            return skipped(response, pod, namespace, podName, skip);
        }
        Decision.Inject inject = (Decision.Inject) decision;
        if (!request.path("dryRun").asBoolean(false)) {
            try {
                binder.bind(namespace, inject.serviceAccount());
            } catch (Exception e) {
                return skipped(response, pod, namespace, podName, new Decision.Skip(SkipReason.RBAC_FAILED, e.getMessage()));
            }
        }
        metrics.injected(inject.strategy(), inject.nativeSidecar());
        LOG.info("injected pod {}/{}: strategy {}, {} sidecar, service account {}", namespace, podName,
                inject.strategy().configName(), inject.nativeSidecar() ? "native" : "classic", inject.serviceAccount());
        withPatch(response, inject.patch());
        if (!inject.warnings().isEmpty()) {
            ArrayNode warnings = response.putArray("warnings");
            inject.warnings().forEach(warnings::add);
        }
        return response;
    }

    /** The admission response's JSON patch: base64 of its JSON text, as the API server expects it. */
    private static void withPatch(ObjectNode response, JsonNode patch) {
        response.put("patchType", "JSONPatch").put("patch", Base64.getEncoder().encodeToString(
                patch.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private ObjectNode skipped(ObjectNode response, JsonNode pod, String namespace, String podName, Decision.Skip skip) {
        metrics.skipped(skip.reason());
        PodInjector.skipAnnotation(pod, skip).ifPresent(patch -> withPatch(response, patch));
        LOG.info("left pod {}/{} unchanged ({}): {}", namespace, podName, skip.reason().label(), skip.message());
        List<SkipReason> quiet = List.of(SkipReason.OPTED_OUT, SkipReason.ALREADY_INJECTED);
        if (!quiet.contains(skip.reason())) {
            response.putArray("warnings").add("lameduck injector: pod not injected (" + skip.reason().label() + "): " + skip.message());
            response.putObject("status").put("message", skip.message()).put("reason", skip.reason().label());
        }
        return response;
    }

    private static byte[] readAtMost(Request request, int max) throws IOException {
        List<byte[]> chunks = new ArrayList<>();
        int total = 0;
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] buffer = new byte[16 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                total += n;
                if (total > max) {
                    return null;
                }
                chunks.add(java.util.Arrays.copyOf(buffer, n));
            }
        }
        byte[] body = new byte[total];
        int at = 0;
        for (byte[] chunk : chunks) {
            System.arraycopy(chunk, 0, body, at, chunk.length);
            at += chunk.length;
        }
        return body;
    }

    private boolean error(Response response, Callback callback, int status, String message) {
        if (status != HttpStatus.NOT_FOUND_404 && status != HttpStatus.METHOD_NOT_ALLOWED_405) {
            metrics.failed(InjectorMetrics.Failure.BAD_REQUEST);
        }
        response.setStatus(status);
        send(response, callback, JSON.createObjectNode().put("error", message).put("status", status));
        return true;
    }

    private static void ok(Response response, Callback callback, ObjectNode admissionResponse) {
        ObjectNode review = JSON.createObjectNode().put("apiVersion", API_VERSION).put("kind", "AdmissionReview");
        review.set("response", admissionResponse);
        response.setStatus(HttpStatus.OK_200);
        send(response, callback, review);
    }

    private static void send(Response response, Callback callback, ObjectNode body) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body.toString().getBytes(StandardCharsets.UTF_8)), callback);
    }
}
