package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class JettyHintsTest {
    private String before;

    @BeforeEach
    void saveProperty() {
        before = System.getProperty(JettyHints.REFERENCES_PER_CACHE_LINE);
    }

    @AfterEach
    void restoreProperty() {
        if (before == null) {
            System.clearProperty(JettyHints.REFERENCES_PER_CACHE_LINE);
        } else {
            System.setProperty(JettyHints.REFERENCES_PER_CACHE_LINE, before);
        }
    }

    @Test
    void fourByteReferencesBelowThirtyTwoGibibytesOfHeap() {
        assertThat(JettyHints.referencesPerCacheLine(32L << 20)).isEqualTo("16");
        assertThat(JettyHints.referencesPerCacheLine((32L << 30) - 1)).isEqualTo("16");
        assertThat(JettyHints.referencesPerCacheLine(32L << 30)).isEqualTo("8");
    }

    @Test
    void setWhenAbsent() {
        System.clearProperty(JettyHints.REFERENCES_PER_CACHE_LINE);
        JettyHints.set();
        assertThat(System.getProperty(JettyHints.REFERENCES_PER_CACHE_LINE)).isEqualTo("16"); // the test JVM's heap is < 32 GiB
    }

    @Test
    void aValueGivenOnTheCommandLineWins() {
        System.setProperty(JettyHints.REFERENCES_PER_CACHE_LINE, "4");
        JettyHints.set();
        assertThat(System.getProperty(JettyHints.REFERENCES_PER_CACHE_LINE)).isEqualTo("4");
    }
}
