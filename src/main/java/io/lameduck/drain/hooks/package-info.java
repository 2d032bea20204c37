/**
 * The four kinds of drain hook ({@code http}, {@code exec}, {@code sleep}, {@code wait-idle}), built from their
 * configuration by {@link io.lameduck.drain.hooks.HookFactory}, and the TCP connection table that {@code wait-idle}
 * (and the {@code lameduck_app_connections} metric, through {@link io.lameduck.drain.hooks.ConnectionCounter})
 * reads from {@code /proc/net/tcp{,6}}.
 */
package io.lameduck.drain.hooks;
