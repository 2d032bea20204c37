/**
 * The four kinds of drain hook ({@code http}, {@code exec}, {@code sleep}, {@code wait-idle}), built from their
 * configuration by {@link io.lameduck.drain.hooks.HookFactory}, and the propagate step built from its settings
 * ({@link io.lameduck.drain.hooks.PropagationFactory}). The socket tables they read are {@link io.lameduck.sockets}.
 */
package io.lameduck.drain.hooks;
