package io.lameduck.drain.hooks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * util-linux {@code setsid}, which starts a program as the leader of a new session and process group (its pid is the
 * group id). Exec hooks are launched through it so that what they leave running can be found and killed as a group
 * ({@link ProcessTree#killGroup}). Where the agent's container has none, hooks are launched as they are and only their
 * direct descendants can be killed; {@link HookFactory} says so once, at start-up.
 */
final class Setsid {
    /** Where the image and common distributions put it; PATH is not used, so a hook's env cannot change it. */
    static final List<Path> STANDARD_DIRECTORIES = List.of(Path.of("/usr/bin"), Path.of("/bin"), Path.of("/usr/sbin"), Path.of("/sbin"));
    private static final Setsid SYSTEM = find(STANDARD_DIRECTORIES);

    private final Optional<Path> program;
    private final List<Path> searched;

    private Setsid(Optional<Path> program, List<Path> searched) {
        this.program = program;
        this.searched = List.copyOf(searched);
    }

    /** The agent's own: looked up once in {@link #STANDARD_DIRECTORIES}. */
    static Setsid system() {
        return SYSTEM;
    }

    /** The first executable {@code setsid} in {@code directories}, in order. */
    static Setsid find(List<Path> directories) {
        for (Path dir : directories) {
            Path candidate = dir.resolve("setsid");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return new Setsid(Optional.of(candidate), directories);
            }
        }
        return new Setsid(Optional.empty(), directories);
    }

    /** Whether {@link #wrap} puts programs in a process group of their own. */
    boolean available() {
        return program.isPresent();
    }

    /** {@code command} run through {@code setsid}; unchanged when there is none. */
    List<String> wrap(List<String> command) {
        if (program.isEmpty()) {
            return command;
        }
        List<String> wrapped = new ArrayList<>();
        wrapped.add(program.get().toString());
        wrapped.addAll(command);
        return wrapped;
    }

    /** Where it was looked for, for the message that says it is missing. */
    List<Path> searched() {
        return searched;
    }
}
