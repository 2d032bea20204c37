package io.lameduck.drain.hooks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Reads a process's combined output from its pipe as it comes and keeps only the last {@value #TAIL_BYTES} bytes,
 * for error messages: however much a hook prints, it costs this much memory and no disk.
 *
 * <p>The pipe is always drained, so a chatty program never blocks on a full pipe. The reader is a daemon thread that
 * ends at end-of-file, when the last process holding the pipe has exited; a grandchild that outlives its hook (a
 * double-forked daemon) keeps it alive, still bounded, and {@link #tail} never waits for it longer than it is told.
 */
final class OutputTail {
    static final int TAIL_BYTES = 2048;
    private static final int CHUNK = 8192;

    private final byte[] ring = new byte[TAIL_BYTES];
    private long total; // bytes seen so far; guarded by this
    private final Thread reader;

    private OutputTail(InputStream output, String hookName) {
        reader = new Thread(() -> pump(output), "lameduck-hook-output-" + hookName);
        reader.setDaemon(true);
    }

    /** Starts draining {@code output} (a process's stdout with stderr redirected into it). */
    static OutputTail drain(InputStream output, String hookName) {
        OutputTail tail = new OutputTail(output, hookName);
        tail.reader.start();
        return tail;
    }

    private void pump(InputStream output) {
        byte[] chunk = new byte[CHUNK];
        try (output) {
            for (int n = output.read(chunk); n != -1; n = output.read(chunk)) {
                append(chunk, n);
            }
        } catch (IOException closed) {
            // the stream was closed under us (the process is gone): what we have is the tail
        }
    }

    private synchronized void append(byte[] chunk, int length) {
        int from = Math.max(0, length - TAIL_BYTES);
        for (int i = from; i < length; i++) {
            ring[(int) ((total + i) % TAIL_BYTES)] = chunk[i];
        }
        total += length;
    }

    /**
     * The last {@value #TAIL_BYTES} bytes of output, trimmed, {@code "..."}-prefixed when cut; {@code "(no output)"}
     * if there was none. Waits at most {@code settle} for the output still in the pipe (the program has exited).
     */
    String tail(Duration settle) throws InterruptedException {
        reader.join(Math.max(1, settle.toMillis()));
        byte[] bytes;
        boolean cut;
        synchronized (this) {
            int kept = (int) Math.min(total, TAIL_BYTES);
            bytes = new byte[kept];
            for (int i = 0; i < kept; i++) {
                bytes[i] = ring[(int) ((total - kept + i) % TAIL_BYTES)];
            }
            cut = total > TAIL_BYTES;
        }
        String text = new String(bytes, StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) {
            return "(no output)";
        }
        return cut ? "..." + text : text;
    }
}
