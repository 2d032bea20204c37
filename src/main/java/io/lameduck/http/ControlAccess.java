package io.lameduck.http;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Who may call control endpoints: loopback, the node's own IP, or anyone presenting the configured bearer
 * token. Read-only endpoints are open.
 *
 * <p>{@code /prestop} is also accepted from <em>any</em> caller once the pod is being deleted
 * ({@link #checkPrestop}): the kubelet's preStop {@code httpGet} often comes from the node's address on the pod
 * network (e.g. the bridge gateway 10.244.0.1), not from {@code status.hostIP}, and a refused preStop (whose
 * status the kubelet ignores) gets the app SIGTERMed undrained. The threat this opens is small: a stranger
 * can only ask a pod that is already terminating to drain, which it is about to do anyway.
 */
final class ControlAccess {
    private final Optional<InetAddress> nodeIp;
    private final Optional<byte[]> token;
    private final PrestopAccess.PodDeletion deletion;
    private final Optional<InetAddress> gateway;

    ControlAccess(String nodeIp, Optional<String> token) {
        this(nodeIp, token, () -> false, Optional.empty());
    }

    ControlAccess(String nodeIp, Optional<String> token, PrestopAccess.PodDeletion deletion) {
        this(nodeIp, token, deletion, Optional.empty());
    }

    /** @param gateway the pod's default gateway, also trusted for {@code /prestop} (empty: not trusted) */
    ControlAccess(String nodeIp, Optional<String> token, PrestopAccess.PodDeletion deletion, Optional<InetAddress> gateway) {
        this.nodeIp = parse(nodeIp);
        this.token = token.map(t -> t.getBytes(StandardCharsets.UTF_8));
        this.deletion = deletion;
        this.gateway = gateway;
    }

    /**
     * Like {@link #check}; also lets in the pod's default gateway (on bridge CNIs the kubelet's preStop comes from it:
     * the node's address on the pod network), and anyone once the pod is being deleted (asked only then, since the
     * answer may need an API read). Empty if allowed, otherwise why not.
     */
    Optional<String> checkPrestop(String remoteAddress, String authorization) {
        Optional<String> denied = check(remoteAddress, authorization);
        if (denied.isEmpty() || gateway.isPresent() && gateway.equals(parse(remoteAddress)) || deletion.isDeleting()) {
            return Optional.empty();
        }
        return Optional.of(denied.get() + gateway.map(g -> " or the pod's default gateway " + g.getHostAddress()).orElse("")
                + "; a pod that is being deleted accepts /prestop from anyone, and this one is not (or could not be read in time)");
    }

    /** Empty if allowed, otherwise why not (for the 403 message). */
    Optional<String> check(String remoteAddress, String authorization) {
        // The scheme name is case-insensitive (RFC 9110 section 11.1): "bearer" and "BEARER" are the same scheme.
        if (token.isPresent() && authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, "Bearer ".length())) {
            byte[] presented = authorization.substring("Bearer ".length()).strip().getBytes(StandardCharsets.UTF_8);
            if (MessageDigest.isEqual(presented, token.get())) { // constant time
                return Optional.empty();
            }
            return Optional.of("the bearer token is not valid");
        }
        Optional<InetAddress> remote = parse(remoteAddress);
        if (remote.isPresent() && (remote.get().isLoopbackAddress() || remote.get().equals(nodeIp.orElse(null)))) {
            return Optional.empty();
        }
        return Optional.of("control endpoints accept only loopback, the node IP"
                + (nodeIp.isPresent() ? "" : " (not configured: set HOST_IP or security.nodeIp)")
                + (token.isPresent() ? " or a valid Authorization: Bearer token" : " or a bearer token (none configured: set security.tokenFile or LAMEDUCK_TOKEN)")
                + "; this request came from " + remoteAddress);
    }

    private static Optional<InetAddress> parse(String address) {
        if (address == null || address.isBlank() || !address.matches("[0-9a-fA-F:.\\[\\]%a-zA-Z0-9]+")) {
            return Optional.empty();
        }
        try {
            String literal = address.startsWith("[") ? address.substring(1, address.length() - 1) : address;
            if (!literal.matches("[0-9a-fA-F:.%]+[0-9a-zA-Z]*")) {
                return Optional.empty(); // never resolve host names here
            }
            return Optional.of(InetAddress.getByName(literal));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }
}
