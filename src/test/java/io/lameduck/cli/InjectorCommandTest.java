package io.lameduck.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lameduck.config.ConfigException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class InjectorCommandTest {
    @Test
    void theShutdownDelayDefaultsToFiveSecondsAndIsBoundedWithAnErrorSayingWhy() throws Exception {
        CommandLine.ParseResult parsed = new CommandLine(new LameduckCommand()).setCaseInsensitiveEnumValuesAllowed(true).parseArgs("injector", "--tls-cert-file", "c",
                "--tls-key-file", "k", "--template", "t");
        InjectorCommand injector = (InjectorCommand) parsed.subcommand().commandSpec().userObject();
        assertThat(InjectorCommand.shutdownDelay(injector.shutdownDelaySeconds)).isEqualTo(Duration.ofSeconds(5));
        assertThat(InjectorCommand.shutdownDelay(0)).isZero();
        assertThat(InjectorCommand.shutdownDelay(60)).isEqualTo(Duration.ofSeconds(60));
        for (int bad : new int[] {-1, 61}) {
            assertThatThrownBy(() -> InjectorCommand.shutdownDelay(bad)).isInstanceOf(ConfigException.class)
                    .hasMessageEndingWith("--shutdown-delay-seconds " + bad + " is out of range; expected 0-60 (the pod's terminationGracePeriodSeconds "
                            + "must cover it and the 5 s stop after it)");
        }
    }
}
