package io.lameduck.logging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.Level;

/** The process's SLF4J binding, through the SLF4J API as the agent and its libraries use it. */
class LineLoggingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final Logger own = LoggerFactory.getLogger("io.lameduck.drain.Propagation");
    private final Logger library = LoggerFactory.getLogger("org.eclipse.jetty.server.Server");

    @AfterEach
    void restore() {
        LogOutput.INSTANCE.configure(false, Level.INFO, System.out);
    }

    private List<String> lines() {
        return Arrays.stream(bytes.toString(StandardCharsets.UTF_8).split("\n")).filter(l -> !l.isEmpty()).toList();
    }

    @Test
    void jsonLinesCarryTheFieldsMdcKeyValuePairsAndRawJsonAsIs() throws Exception {
        LogSetup.configure(true, "info", false);
        LogOutput.INSTANCE.configure(true, Level.INFO, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        MDC.put("requestId", "r-1");
        try {
            own.atInfo().addKeyValue("drainReport", new RawJson("{\"id\":\"d\",\"n\":1}")).addKeyValue("count", 3)
                    .addKeyValue("note", "a \"quoted\"\nline").log("drain {} done", "d");
        } finally {
            MDC.remove("requestId");
        }
        JsonNode line = JSON.readTree(lines().get(0));
        assertThat(line.path("level").asText()).isEqualTo("INFO");
        assertThat(line.path("logger").asText()).isEqualTo("io.lameduck.drain.Propagation");
        assertThat(line.path("thread").asText()).isEqualTo(Thread.currentThread().getName());
        assertThat(line.path("msg").asText()).isEqualTo("drain d done");
        assertThat(line.path("ts").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,3})?Z");
        assertThat(line.path("requestId").asText()).isEqualTo("r-1");
        assertThat(line.path("drainReport").path("n").asInt()).as("embedded, not quoted").isEqualTo(1);
        assertThat(line.path("count").isNumber()).isTrue();
        assertThat(line.path("note").asText()).isEqualTo("a \"quoted\"\nline");
    }

    @Test
    void aThrowableBecomesErrorAndStackFields() throws Exception {
        LogOutput.INSTANCE.configure(true, Level.INFO, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        own.error("unexpected {}", "failure", new IllegalStateException("boom"));
        JsonNode line = JSON.readTree(lines().get(0));
        assertThat(line.path("msg").asText()).isEqualTo("unexpected failure");
        assertThat(line.path("error").asText()).isEqualTo("java.lang.IllegalStateException: boom");
        assertThat(line.path("stack").asText()).startsWith("java.lang.IllegalStateException: boom").contains("\tat ");
    }

    @Test
    void ownLoggersFollowTheConfiguredLevelAndLibrariesLogOnlyWarningsAndErrors() {
        LogOutput.INSTANCE.configure(false, Level.DEBUG, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        own.debug("own debug");
        own.trace("own trace");
        library.info("library info");
        library.warn("library warn");
        assertThat(lines()).hasSize(2);
        assertThat(lines().get(0)).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} DEBUG i\\.l\\.d\\.Propagation  - own debug ");
        assertThat(lines().get(1)).contains(" WARN  o.e.j.server.Server  - library warn");
        assertThat(own.isTraceEnabled()).isFalse();
        assertThat(library.isInfoEnabled()).isFalse();
    }

    @Test
    void aCaptureSeesItsLoggersAtEveryLevelWhileTheOutputKeepsItsLevel() {
        LogOutput.INSTANCE.configure(false, Level.INFO, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try (LogCapture capture = LogCapture.of("org.eclipse.jetty.server.Server")) {
            assertThat(library.isDebugEnabled()).isTrue();
            library.debug("seen by the capture only");
            own.info("not captured");
            assertThat(capture.events()).containsExactly(
                    new LogCapture.Event(Level.DEBUG, "org.eclipse.jetty.server.Server", "seen by the capture only"));
        }
        assertThat(library.isDebugEnabled()).isFalse();
        assertThat(lines()).singleElement().asString().endsWith("- not captured ");
    }

    @Test
    void longLoggerNamesAreShortenedInTextLines() {
        assertThat(LogOutput.shortened("io.lameduck.Agent")).isEqualTo("io.lameduck.Agent");
        assertThat(LogOutput.shortened("io.lameduck.drain.Propagation")).isEqualTo("i.l.d.Propagation");
        assertThat(LogOutput.shortened("io.lameduck.kube.VerifiedWithdrawal")).isEqualTo("i.l.k.VerifiedWithdrawal");
        assertThat(LogOutput.shortened("AVeryLongLoggerNameWithoutAnyPackage")).isEqualTo("AVeryLongLoggerNameWithoutAnyPackage");
    }
}
