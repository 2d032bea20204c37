package io.lameduck.http;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** A registry scraped and answered in the Prometheus text format: the plain-Jetty {@code /metrics} of the injector and the collector. */
public final class MetricsResponse {
    private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

    private MetricsResponse() {}

    /** Writes the scrape as the whole response; always handled (returns true). */
    public static boolean write(PrometheusRegistry registry, Response response, Callback callback) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        WRITER.write(out, registry.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, WRITER.getContentType());
        response.write(true, ByteBuffer.wrap(out.toByteArray()), callback);
        return true;
    }
}
