package io.lameduck.kube;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every Kubernetes API call of the agent: bounded by a time limit (fabric8's blocking calls retry
 * with back-off on their own and would otherwise outlive any deadline), counted in
 * {@code lameduck_kube_requests_total}, and with failures classified ({@link ApiException.Kind}).
 * A 403 is logged once per verb and resource at WARN; repeats go to DEBUG.
 */
final class ApiCalls implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiCalls.class);

    private final KubeMetrics metrics;
    private final ExecutorService executor;
    private final Set<String> forbiddenLogged = ConcurrentHashMap.newKeySet();

    /** Calls counted on a registry nobody scrapes: for the one-shot {@code check} commands, which expose no metrics. */
    static ApiCalls uncounted() {
        return new ApiCalls(new KubeMetrics(new PrometheusRegistry()));
    }

    ApiCalls(KubeMetrics metrics) {
        this.metrics = metrics;
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "lameduck-kube-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Calls {@code call} and returns its result, or throws once {@code limit} has passed (the call is then
     * interrupted). {@code verb} and {@code resource} label the metric and the messages.
     */
    <T> T call(String verb, String resource, Duration limit, Callable<T> call) throws ApiException, InterruptedException {
        if (limit.isNegative() || limit.isZero()) {
            metrics.request(verb, resource, "timeout");
            throw new ApiException(ApiException.Kind.TIMEOUT, verb + " " + resource + ": no time left to call the API", null);
        }
        Future<T> future = executor.submit(call);
        try {
            T result = future.get(limit.toNanos(), TimeUnit.NANOSECONDS);
            metrics.request(verb, resource, statusOf(verb, result));
            return result;
        } catch (TimeoutException e) {
            future.cancel(true);
            metrics.request(verb, resource, "timeout");
            throw new ApiException(ApiException.Kind.TIMEOUT,
                    verb + " " + resource + ": the API did not answer within " + limit.toMillis() + "ms", e);
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            throw classify(verb, resource, e.getCause());
        }
    }

    /** fabric8 answers a 404 on get with null rather than an exception; count it as what it was. */
    private static String statusOf(String verb, Object result) {
        if ("get".equals(verb) && result == null) {
            return "404";
        }
        return "create".equals(verb) ? "201" : "200";
    }

    private ApiException classify(String verb, String resource, Throwable failure) {
        int code = failure instanceof KubernetesClientException kce ? kce.getCode() : 0;
        metrics.request(verb, resource, code > 0 ? Integer.toString(code) : "error");
        String what = verb + " " + resource;
        if (code == 401 || code == 403) {
            String message = what + " is forbidden for the agent's service account (HTTP " + code
                    + "); grant it with the Role in helm/lameduck/files/role-rules.yaml";
            if (forbiddenLogged.add(what)) {
                LOG.warn("{} (logged once per verb and resource; every one is counted in lameduck_kube_requests_total with code {})", message, code);
            } else {
                LOG.debug(message);
            }
            return new ApiException(ApiException.Kind.FORBIDDEN, message, failure);
        }
        if (code == 409) {
            return new ApiException(ApiException.Kind.CONFLICT, what + ": conflict, the object changed since it was read", failure);
        }
        if (code == 404) {
            return new ApiException(ApiException.Kind.NOT_FOUND, what + ": not found", failure);
        }
        if (code <= 0 || code == 502 || code == 503 || code == 504) {
            return new ApiException(ApiException.Kind.UNREACHABLE, what + ": API unreachable (" + rootMessage(failure) + ")", failure);
        }
        return new ApiException(ApiException.Kind.OTHER, what + " failed with HTTP " + code + ": " + rootMessage(failure), failure);
    }

    private static String rootMessage(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
