package io.lameduck;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether the agent runs for the first time in its container's pod, known from a marker file that this run creates in
 * a directory that outlives container restarts: a volume (the chart, the injector and the manifests mount an emptyDir at
 * {@code /tmp}). Only a first run may let {@code /readyz} pass before READY: after a restart the pod's readiness gate may
 * still be True from the run before, and the container's readiness is then what keeps the pod out of its Services until
 * this run can drain it. Anything uncertain (the directory is not a volume of its own, the marker cannot be written)
 * counts as not first.
 *
 * @param first whether this is the first run
 * @param why a sentence for the log
 */
record FirstStart(boolean first, String why) {
    static final Path DIR = Path.of("/tmp");
    static final Path MOUNT_INFO = Path.of("/proc/self/mountinfo");
    static final String MARKER = ".lameduck-started";
    /** /proc/self/mountinfo of a pod has a few dozen lines; more than this is not read. */
    static final int MAX_MOUNT_LINES = 10_000;

    /** Claims the first run in {@code dir} (creating the marker), if {@code dir} is a mount point in {@code mountInfo}. */
    static FirstStart claim(Path dir, Path mountInfo) {
        Path absolute = dir.toAbsolutePath().normalize();
        try {
            if (!isMountPoint(absolute, mountInfo)) {
                return new FirstStart(false, absolute + " is not a volume of its own, so a restarted container could not tell it ran "
                        + "before (mount an emptyDir there, as the chart does)");
            }
        } catch (IOException e) {
            return new FirstStart(false, "cannot read " + mountInfo + " (" + e.getMessage() + ")");
        }
        Path marker = absolute.resolve(MARKER);
        try {
            Files.createFile(marker);
            return new FirstStart(true, "the first run of the agent in this pod (" + marker + " created)");
        } catch (FileAlreadyExistsException e) {
            return new FirstStart(false, "the agent ran in this pod before (" + marker + " exists): its container restarted");
        } catch (IOException | SecurityException e) {
            return new FirstStart(false, "cannot create " + marker + " (" + e + ")");
        }
    }

    /** Field 5 of a mountinfo line is the mount point, with space, tab, newline and backslash as octal escapes. */
    static boolean isMountPoint(Path dir, Path mountInfo) throws IOException {
        String wanted = dir.toString();
        try (BufferedReader lines = Files.newBufferedReader(mountInfo, StandardCharsets.UTF_8)) {
            String line;
            for (int n = 0; n < MAX_MOUNT_LINES && (line = lines.readLine()) != null; n++) {
                String[] fields = line.split(" ", 6);
                if (fields.length >= 5 && unescape(fields[4]).equals(wanted)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
