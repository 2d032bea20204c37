package io.lameduck.inject;

import io.lameduck.config.ConfigException;
import io.prometheus.metrics.core.metrics.Counter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the injector's serving certificate when its PEM files change, so a renewal (cert-manager rewrites the Secret,
 * the kubelet swaps the mounted files) needs no restart. It compares the files' contents every {@code interval}: a
 * Secret mount changes by an atomic symlink swap, so modification times say little. A pair caught half-written (a
 * new certificate with the old key) fails to load, keeps the certificate in use, and is tried again at the next check.
 * Connections already open keep their session; new handshakes get the new certificate.
 */
final class CertificateReloader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateReloader.class);
    /** A certificate chain or key is a few KiB. */
    private static final long MAX_FILE_BYTES = 1024 * 1024;

    private final Path certFile;
    private final Path keyFile;
    private final Duration interval;
    private final SslContextFactory.Server tls;
    private final Counter reloads;
    private final ScheduledExecutorService scheduler;
    private byte[] loaded;

    /** @param reloads counted by outcome, {@code reloaded} or {@code failed} */
    CertificateReloader(Path certFile, Path keyFile, Duration interval, SslContextFactory.Server tls, Counter reloads) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.interval = interval;
        this.tls = tls;
        this.reloads = reloads;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "lameduck-certificate-reload");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Remembers the files as loaded at start-up and starts checking them. */
    void start() {
        loaded = digest().orElse(null);
        scheduler.scheduleWithFixedDelay(this::check, interval.toNanos(), interval.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** One check: reloads when the files' contents differ from those last loaded. */
    void check() {
        Optional<byte[]> current = digest();
        if (current.isEmpty() || Arrays.equals(current.get(), loaded)) {
            return;
        }
        try {
            KeyStore store = PemKeyStore.load(certFile, keyFile);
            tls.reload(factory -> factory.setKeyStore(store));
            loaded = current.get();
            reloads.labelValues("reloaded").inc();
            LOG.info("reloaded the serving certificate from {} and {}", certFile, keyFile);
        } catch (ConfigException e) {
            reloads.labelValues("failed").inc();
            LOG.warn("the serving certificate files changed but do not load ({}); still serving the previous one, trying again in {}",
                    String.join("; ", e.problems()), interval);
        } catch (Exception e) {
            reloads.labelValues("failed").inc();
            LOG.warn("reloading the serving certificate failed ({}); still serving the previous one, trying again in {}", e.toString(), interval);
        }
    }

    /** A digest of both files' contents; empty (warned) while either cannot be read, as during a swap. */
    private Optional<byte[]> digest() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path file : new Path[] {certFile, keyFile}) {
                if (Files.size(file) > MAX_FILE_BYTES) {
                    LOG.warn("{} is larger than {} KiB: not a PEM certificate or key; trying again in {}", file, MAX_FILE_BYTES / 1024, interval);
                    return Optional.empty();
                }
                sha.update(Files.readAllBytes(file));
            }
            return Optional.of(sha.digest());
        } catch (IOException e) {
            LOG.warn("cannot read the serving certificate files ({}); trying again in {}", e.toString(), interval);
            return Optional.empty();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
