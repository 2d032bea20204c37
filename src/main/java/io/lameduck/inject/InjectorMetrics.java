package io.lameduck.inject;

import io.lameduck.inject.InjectionTemplate.Strategy;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** The injector's metrics: injections made, pods skipped by reason, requests failed by reason. */
public final class InjectorMetrics {
    /** Why a request failed: the {@code reason} label of the failures counter. */
    public enum Failure {
        /** Not an AdmissionReview v1 the injector can answer (answered 4xx). */
        BAD_REQUEST("bad_request"),
        /** An unexpected error while deciding (answered allowed, unchanged, with a warning). */
        ERROR("error");

        private final String label;

        Failure(String label) {
            this.label = label;
        }
    }

    private final Counter injections;
    private final Counter skipped;
    private final Counter failures;

    public InjectorMetrics(PrometheusRegistry registry) {
        injections = Counter.builder().name("lameduck_injector_injections")
                .help("Pods the injector added the Lameduck agent to, by withdraw strategy and sidecar mode")
                .labelNames("strategy", "sidecar").register(registry);
        skipped = Counter.builder().name("lameduck_injector_skipped")
                .help("Pods the injector left unchanged, by reason")
                .labelNames("reason").register(registry);
        failures = Counter.builder().name("lameduck_injector_failures")
                .help("Admission requests the injector could not process, by reason (bad_request: answered 4xx; error: answered allowed, unchanged)")
                .labelNames("reason").register(registry);
        for (Strategy s : Strategy.values()) {
            injections.labelValues(s.configName(), "classic");
            injections.labelValues(s.configName(), "native");
        }
        for (SkipReason r : SkipReason.values()) {
            skipped.labelValues(r.label());
        }
        for (Failure f : Failure.values()) {
            failures.labelValues(f.label);
        }
    }

    /** Serving-certificate reloads by outcome ({@code reloaded}, {@code failed}: the files changed but did not load). */
    static Counter certificateReloads(PrometheusRegistry registry) {
        Counter reloads = Counter.builder().name("lameduck_injector_certificate_reloads")
                .help("Reloads of the injector's serving certificate after its files changed, by outcome (failed: kept the previous one)")
                .labelNames("outcome").register(registry);
        reloads.labelValues("reloaded");
        reloads.labelValues("failed");
        return reloads;
    }

    void injected(Strategy strategy, boolean nativeSidecar) {
        injections.labelValues(strategy.configName(), nativeSidecar ? "native" : "classic").inc();
    }

    void skipped(SkipReason reason) {
        skipped.labelValues(reason.label()).inc();
    }

    void failed(Failure failure) {
        failures.labelValues(failure.label).inc();
    }
}
