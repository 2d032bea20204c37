package io.lameduck.restart;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.lameduck.drain.Trigger;
import java.time.Instant;
import java.util.List;

/**
 * The restart cycle in progress, or the last one that ended (shown in {@code /status} as {@code restart}).
 *
 * @param active whether a cycle holds the pod withdrawn now
 * @param phase {@code withdrawing}, {@code awaiting-kill}, {@code awaiting-ready}; or how it ended: {@code restored},
 *     {@code superseded} (a drain began and owns the withdrawal), {@code restored-without-restart}
 * @param containers the containers seen to stop or restart during the cycle
 * @param drainId the id of the cycle's withdrawal report ({@code restart-...})
 * @param detail what happened last, in words
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RestartStatus(boolean active, String phase, Trigger trigger, Instant since, Instant endedAt,
        List<String> containers, String drainId, String detail) {
    public static final RestartStatus NONE = new RestartStatus(false, null, null, null, null, List.of(), null, null);

    public RestartStatus {
        containers = List.copyOf(containers);
    }
}
