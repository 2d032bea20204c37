package io.lameduck.drain.hooks;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Captures a process's combined output into a temporary file and reads back its last bytes for error messages.
 *
 * <p>A file rather than a pipe: a pipe that nobody reads fills up and blocks the process, and a pipe that a reader
 * thread drains stays open as long as any grandchild holds it, which can outlive the hook. Where no temporary file
 * can be created (read-only file system), the output is discarded instead and the message says so.
 */
final class OutputTail implements AutoCloseable {
    static final int TAIL_BYTES = 2048;
    private static final Logger LOG = LoggerFactory.getLogger(OutputTail.class);

    private final Path file;
    private final String unavailable;

    private OutputTail(Path file, String unavailable) {
        this.file = file;
        this.unavailable = unavailable;
    }

    static OutputTail create(String hookName) {
        try {
            Path file = Files.createTempFile("lameduck-hook-", ".out");
            return new OutputTail(file, null);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("exec hook {}: cannot create a temporary file for its output ({}); the output is discarded", hookName, e.toString());
            return new OutputTail(null, "output not captured: no temporary file (" + e.getMessage() + ")");
        }
    }

    /** Where the process should write stdout and stderr. */
    Redirect redirect() {
        return file == null ? Redirect.DISCARD : Redirect.to(file.toFile());
    }

    /** The last {@value #TAIL_BYTES} bytes of output, trimmed; {@code "(no output)"} if there was none. */
    String tail() {
        if (file == null) {
            return "(" + unavailable + ")";
        }
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            long length = in.length();
            long start = Math.max(0, length - TAIL_BYTES);
            byte[] bytes = new byte[(int) (length - start)];
            in.seek(start);
            in.readFully(bytes);
            String text = new String(bytes, StandardCharsets.UTF_8).strip();
            if (text.isEmpty()) {
                return "(no output)";
            }
            return start > 0 ? "..." + text : text;
        } catch (IOException e) {
            return "(output unreadable: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        if (file == null) {
            return;
        }
        File f = file.toFile();
        if (!f.delete() && f.exists()) {
            LOG.debug("could not delete {}", f);
        }
    }
}
