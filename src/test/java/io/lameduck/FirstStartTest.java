package io.lameduck;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The first-run marker against real files; the mount table is a file written here (the real one has no test volume). */
class FirstStartTest {
    @TempDir
    Path dir;

    private Path mountInfo(String... mountPoints) throws IOException {
        StringBuilder lines = new StringBuilder("22 1 0:21 / / rw,relatime - overlay overlay rw\n");
        int id = 30;
        for (String point : mountPoints) {
            lines.append(id++).append(" 22 8:1 /var/lib/kubelet/pods/x/volumes/kubernetes.io~empty-dir/tmp ").append(point)
                    .append(" rw,relatime - ext4 /dev/sda1 rw\n");
        }
        Path file = Files.createTempFile("mountinfo", "");
        Files.writeString(file, lines);
        return file;
    }

    @Test
    void theFirstClaimInAVolumeIsFirstAndEveryLaterOneIsARestart() throws IOException {
        Path mounts = mountInfo(dir.toString());
        FirstStart first = FirstStart.claim(dir, mounts);
        assertThat(first.first()).as(first.why()).isTrue();
        assertThat(dir.resolve(FirstStart.MARKER)).exists();
        FirstStart again = FirstStart.claim(dir, mounts);
        assertThat(again.first()).isFalse();
        assertThat(again.why()).contains("container restarted");
    }

    @Test
    void aDirectoryThatIsNotAVolumeNeverCountsAsFirst() throws IOException {
        FirstStart start = FirstStart.claim(dir, mountInfo("/somewhere/else"));
        assertThat(start.first()).isFalse();
        assertThat(start.why()).contains("not a volume").contains("emptyDir");
        assertThat(dir.resolve(FirstStart.MARKER)).doesNotExist();
    }

    @Test
    void mountPointsWithEscapedSpacesAreRecognised() throws IOException {
        Path spaced = Files.createDirectory(dir.resolve("with space"));
        FirstStart start = FirstStart.claim(spaced, mountInfo(spaced.toString().replace(" ", "\\040")));
        assertThat(start.first()).as(start.why()).isTrue();
    }

    @Test
    void aMarkerThatCannotBeWrittenIsNotFirst() throws IOException {
        Path notADirectory = Files.writeString(dir.resolve("file"), "x"); // fails as root too, unlike permissions
        FirstStart start = FirstStart.claim(notADirectory, mountInfo(notADirectory.toString()));
        assertThat(start.first()).isFalse();
        assertThat(start.why()).startsWith("cannot create");
    }

    @Test
    void anUnreadableMountTableIsNotFirst() {
        FirstStart start = FirstStart.claim(dir, dir.resolve("no-such-mountinfo"));
        assertThat(start.first()).isFalse();
        assertThat(start.why()).startsWith("cannot read");
    }
}
