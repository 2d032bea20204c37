package io.lameduck.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lameduck.Agent;
import io.lameduck.LocalAddresses;
import io.lameduck.config.ConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Control endpoints from a non-loopback address: the test connects from this machine's own
 * non-loopback interface address, so the agent sees a remote peer that is not 127.0.0.1.
 */
class ControlAccessTest {

    /** A raw HTTP/1.1 exchange from {@code from}, returning the status line and body. */
    private static String request(InetAddress from, int port, String method, String path, String authorization) throws IOException {
        return requestWithHeaders(from, port, method, path, authorization == null ? "" : "Authorization: " + authorization + "\r\n");
    }

    private static String requestWithHeaders(InetAddress from, int port, String method, String path, String headerLines) throws IOException {
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress(from, 0));
            socket.connect(new InetSocketAddress(from, port), 5000);
            socket.setSoTimeout(30_000);
            String request = method + " " + path + " HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n"
                    + headerLines
                    + (method.equals("PUT") ? "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"reason\": \"ci\"}\n" : "\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static Agent startAgent(Map<String, String> env) throws Exception {
        Agent agent = Agent.create(new ConfigLoader(env).parse(
                "server: {host: 0.0.0.0, port: 0}\ndrain: {budget: 5s, safetyMargin: 1s, propagationDelay: 0s}\n"));
        agent.start();
        return agent;
    }

    @Test
    void controlEndpointsRefuseRemoteCallersWithoutTokenButReadOnlyOnesAreOpen() throws Exception {
        Optional<InetAddress> remote = LocalAddresses.nonLoopback();
        assumeTrue(remote.isPresent(), "this machine has no non-loopback IPv4 address to call from");
        Agent agent = startAgent(Map.of("LAMEDUCK_TOKEN", "right-token"));
        try {
            InetAddress from = remote.get();
            String prestop = request(from, agent.port(), "POST", "/prestop", null);
            assertThat(prestop).startsWith("HTTP/1.1 403").contains("control endpoints accept only loopback")
                    .contains("this request came from " + from.getHostAddress());
            assertThat(request(from, agent.port(), "PUT", "/maintenance", null)).startsWith("HTTP/1.1 403");
            assertThat(request(from, agent.port(), "DELETE", "/maintenance", "Bearer wrong-token"))
                    .startsWith("HTTP/1.1 403").contains("the bearer token is not valid");
            assertThat(request(from, agent.port(), "GET", "/status", null)).startsWith("HTTP/1.1 200");
            assertThat(request(from, agent.port(), "GET", "/maintenance", null)).startsWith("HTTP/1.1 200");
            assertThat(agent.lifecycle().state().name()).isEqualTo("READY");

            // Proxy headers are not evidence of where a request came from: the agent reads only the socket's peer.
            for (String forwarded : new String[] {"X-Forwarded-For: 127.0.0.1", "Forwarded: for=127.0.0.1", "X-Real-IP: 127.0.0.1"}) {
                assertThat(requestWithHeaders(from, agent.port(), "PUT", "/maintenance", forwarded + "\r\n")).as(forwarded)
                        .startsWith("HTTP/1.1 403").contains("this request came from " + from.getHostAddress());
            }
            assertThat(agent.maintenance().status().active()).isFalse();

            String withToken = request(from, agent.port(), "PUT", "/maintenance", "bearer right-token");
            assertThat(withToken).startsWith("HTTP/1.1 200").contains("\"active\":true");
        } finally {
            agent.stop();
        }
    }

    @Test
    void theNodeIpIsAllowedWithoutToken() throws Exception {
        Optional<InetAddress> remote = LocalAddresses.nonLoopback();
        assumeTrue(remote.isPresent(), "this machine has no non-loopback IPv4 address to call from");
        Agent agent = startAgent(Map.of("HOST_IP", remote.get().getHostAddress()));
        try {
            String reply = request(remote.get(), agent.port(), "PUT", "/maintenance", null);
            assertThat(reply).startsWith("HTTP/1.1 200");
        } finally {
            agent.stop();
        }
    }

    @Test
    void accessRulesInIsolation() {
        ControlAccess noToken = new ControlAccess("10.0.0.7", Optional.empty());
        assertThat(noToken.check("127.0.0.1", null)).isEmpty();
        assertThat(noToken.check("::1", null)).isEmpty();
        assertThat(noToken.check("10.0.0.7", null)).isEmpty();
        assertThat(noToken.check("10.0.0.8", null)).get().asString().contains("none configured");
        assertThat(noToken.check("10.0.0.8", "Bearer anything")).get().asString().contains("came from 10.0.0.8");
        assertThat(noToken.check("not-an-ip.example", null)).isPresent();

        ControlAccess token = new ControlAccess("", Optional.of("abc"));
        assertThat(token.check("192.168.1.1", "Bearer abc")).isEmpty();
        assertThat(token.check("192.168.1.1", "Bearer abcd")).contains("the bearer token is not valid");
        assertThat(token.check("192.168.1.1", "Basic abc")).isPresent();
        // The scheme is case-insensitive (RFC 9110); the token itself is not.
        assertThat(token.check("192.168.1.1", "bearer abc")).isEmpty();
        assertThat(token.check("192.168.1.1", "BEARER abc")).isEmpty();
        assertThat(token.check("192.168.1.1", "bearer ABC")).contains("the bearer token is not valid");
    }

    /** Stand-in for the Kubernetes side: the deletion check is a flag here (the kube tests use the real watch). */
    @Test
    void prestopFromAnyCallerIsAcceptedOnlyOnceThePodIsDeletingAndTheCheckIsAskedOnlyWhenTheRulesRefuse() {
        java.util.concurrent.atomic.AtomicBoolean deleting = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        ControlAccess access = new ControlAccess("10.0.0.7", Optional.empty(), () -> {
            asked.incrementAndGet();
            return deleting.get();
        });

        assertThat(access.checkPrestop("10.244.0.1", null)).get().asString()
                .contains("this request came from 10.244.0.1").contains("a pod that is being deleted accepts /prestop from anyone");
        assertThat(access.checkPrestop("127.0.0.1", null)).isEmpty();
        assertThat(access.checkPrestop("10.0.0.7", null)).isEmpty();
        assertThat(asked).as("loopback and the node IP need no deletion check").hasValue(1);

        deleting.set(true);
        assertThat(access.checkPrestop("10.244.0.1", null)).isEmpty();
        assertThat(access.check("10.244.0.1", null)).as("maintenance changes stay closed to strangers").isPresent();
    }

    /** The kubelet's preStop on the bridge CNI comes from the pod's default gateway (the node's address on the pod network). */
    @Test
    void prestopFromThePodsDefaultGatewayIsAcceptedOnAPodThatIsNotBeingDeletedButOtherControlIsNot() throws Exception {
        ControlAccess access = new ControlAccess("10.200.0.2", Optional.empty(), () -> false,
                Optional.of(InetAddress.getByName("10.244.0.1")));

        assertThat(access.checkPrestop("10.244.0.1", null)).isEmpty();
        assertThat(access.checkPrestop("10.244.0.9", null)).get().asString()
                .contains("or the pod's default gateway 10.244.0.1", "this request came from 10.244.0.9");
        assertThat(access.check("10.244.0.1", null)).as("maintenance stays closed to the gateway").isPresent();
    }
}
