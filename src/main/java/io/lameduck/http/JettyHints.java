package io.lameduck.http;

/**
 * Settings Jetty would otherwise work out at a cost the agent should not pay. Set once, before the first Jetty server
 * is built ({@code Main} does it first thing).
 */
public final class JettyHints {
    /** Read once by Jetty's {@code MemoryUtils} when its class is initialised (sizing the padding of its pools). */
    static final String REFERENCES_PER_CACHE_LINE = "org.eclipse.jetty.util.referencesPerCacheLine";
    private static final long COMPRESSED_OOPS_BELOW = 32L << 30;

    private JettyHints() {}

    /**
     * Without {@value #REFERENCES_PER_CACHE_LINE}, Jetty asks the platform MBean server whether compressed object
     * pointers are on, and that one call starts the JVM's whole JMX platform: about 330 classes with their MBean
     * metadata, about 1.7 MiB of anonymous memory in every agent (docs/performance.md "Footprint"), for a padding hint.
     * The JVM compresses pointers below 32 GiB of heap (the agent's is 32 MiB): 16 four-byte references fill Jetty's
     * 64-byte cache line, 8 otherwise. A value given on the command line wins.
     */
    public static void set() {
        if (System.getProperty(REFERENCES_PER_CACHE_LINE) == null) {
            System.setProperty(REFERENCES_PER_CACHE_LINE, referencesPerCacheLine(Runtime.getRuntime().maxMemory()));
        }
    }

    static String referencesPerCacheLine(long maxHeapBytes) {
        return maxHeapBytes < COMPRESSED_OOPS_BELOW ? "16" : "8";
    }
}
