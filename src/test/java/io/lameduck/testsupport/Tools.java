package io.lameduck.testsupport;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/** Finds the Prometheus binaries the tests need; failing, says how to install them. */
public final class Tools {
    public static Path require(String binary) {
        return find(binary).orElseThrow(() -> new AssertionError(binary + " not found on PATH or in /usr/bin;"
                + " run scripts/install/prometheus.sh (installs Debian's prometheus package) and retry"));
    }

    public static Optional<Path> find(String binary) {
        String path = System.getenv().getOrDefault("PATH", "");
        return Stream.concat(Stream.of(path.split(File.pathSeparator)), Stream.of("/usr/bin"))
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, binary))
                .filter(Files::isExecutable)
                .findFirst();
    }

    private Tools() {}
}
