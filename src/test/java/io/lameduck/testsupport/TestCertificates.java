package io.lameduck.testsupport;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A test CA and a serving certificate signed by it, made with openssl (one day valid, RSA 2048): what a webhook's
 * {@code caBundle} trusts and what its server presents. The tests that serve the injector over TLS share it.
 *
 * @param caCert the CA certificate (PEM): the {@code caBundle}
 * @param cert the serving certificate (PEM), signed by the CA
 * @param key the serving certificate's private key (PEM, PKCS#8)
 */
public record TestCertificates(Path caCert, Path cert, Path key) {
    private static final Duration OPENSSL_LIMIT = Duration.ofSeconds(120);

    /**
     * Issues into {@code dir} (files {@code ca.crt}, {@code tls.crt}, {@code tls.key} and openssl's by-products).
     *
     * @param caName the CA's common name: a distinct one per issue tells the certificates apart in messages
     * @param subjectAltName openssl's form, e.g. {@code IP:127.0.0.1} or {@code DNS:a.b.svc,DNS:a.b}
     */
    public static TestCertificates issue(Path dir, String caName, String subjectAltName) {
        TestCertificates issued = new TestCertificates(dir.resolve("ca.crt"), dir.resolve("tls.crt"), dir.resolve("tls.key"));
        Path caKey = dir.resolve("ca.key");
        Path request = dir.resolve("tls.csr");
        Path extensions = dir.resolve("san.ext");
        try {
            Files.writeString(extensions, "subjectAltName=" + subjectAltName + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + caName,
                "-keyout", caKey.toString(), "-out", issued.caCert().toString());
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + caName + " serving",
                "-keyout", issued.key().toString(), "-out", request.toString());
        openssl(dir, "x509", "-req", "-days", "1", "-in", request.toString(), "-CA", issued.caCert().toString(),
                "-CAkey", caKey.toString(), "-CAcreateserial", "-extfile", extensions.toString(), "-out", issued.cert().toString());
        return issued;
    }

    /** A TLS client context that trusts the CA certificate in {@code caPem} (its first certificate) and nothing else. */
    public static SSLContext trusting(String caPem) throws GeneralSecurityException, IOException {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII))));
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }

    /** The CA certificate's PEM text. */
    public String caPem() {
        return read(caCert);
    }

    /** The serving certificate's PEM text. */
    public String certPem() {
        return read(cert);
    }

    /** The private key's PEM text. */
    public String keyPem() {
        return read(key);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void openssl(Path dir, String... args) {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Command.Result result = Command.run(command, dir, OPENSSL_LIMIT);
        if (result.exit() != 0) {
            throw new IllegalStateException(command + " failed (exit " + result.exit() + "):\n" + result.output());
        }
    }
}
