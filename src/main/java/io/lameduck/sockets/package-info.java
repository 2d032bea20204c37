/**
 * The application's TCP connections, as the kernel lists them in the pod's network namespace: what the propagate
 * step watches ({@link io.lameduck.sockets.AppConnections}: per connection, what it received and when, from
 * {@code ss}'s TCP_INFO, else only the 4-tuples from {@code /proc/net/tcp{,6}}), what the {@code wait-idle} hook
 * waits on and what the {@code lameduck_app_connections} metric counts
 * ({@link io.lameduck.sockets.TcpConnectionTable}, {@link io.lameduck.sockets.ConnectionCounter}). Readers only:
 * nothing here knows about drains.
 */
package io.lameduck.sockets;
