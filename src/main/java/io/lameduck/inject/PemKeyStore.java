package io.lameduck.inject;

import io.lameduck.config.ConfigException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A key store from PEM files as Kubernetes TLS Secrets hold them: a certificate chain, and a private key in
 * PKCS#8 ({@code BEGIN PRIVATE KEY}, cert-manager with encoding PKCS8) or PKCS#1 RSA ({@code BEGIN RSA PRIVATE
 * KEY}, Helm's genSignedCert).
 */
final class PemKeyStore {
    static final char[] PASSWORD = "lameduck".toCharArray();
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z ]+)-----([^-]+)-----END \\1-----");
    /** DER of AlgorithmIdentifier { rsaEncryption, NULL }. */
    private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

    private PemKeyStore() {}

    static KeyStore load(Path certFile, Path keyFile) throws ConfigException {
        try {
            Certificate[] chain = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(certFile))).toArray(Certificate[]::new);
            if (chain.length == 0) {
                throw new ConfigException("--tls-cert-file " + certFile + ": no PEM certificate in it");
            }
            PrivateKey key = privateKey(keyFile);
            if (!matches(key, chain[0])) {
                throw new ConfigException("--tls-key-file " + keyFile + " is not the key of the certificate in --tls-cert-file " + certFile
                        + " (half-way through a renewal, or the wrong pair); give the certificate and its own key");
            }
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("injector", key, PASSWORD, chain);
            return store;
        } catch (IOException e) {
            throw new ConfigException("cannot read the TLS files " + certFile + ", " + keyFile + ": " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new ConfigException("the TLS files " + certFile + ", " + keyFile + " are not a PEM certificate chain and its key: " + e.getMessage());
        }
    }

    /**
     * Whether {@code key} signs what the certificate's public key verifies: a key store takes any key beside any
     * certificate, and a mismatched pair would only fail at every TLS handshake.
     */
    private static boolean matches(PrivateKey key, Certificate certificate) throws GeneralSecurityException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> key.getAlgorithm(); // Ed25519 signs on its own
        };
        byte[] probe = "lameduck key check".getBytes(StandardCharsets.US_ASCII);
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(key);
        signer.update(probe);
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(certificate.getPublicKey());
        verifier.update(probe);
        try {
            return verifier.verify(signature);
        } catch (SignatureException e) {
            return false;
        }
    }

    private static PrivateKey privateKey(Path keyFile) throws IOException, GeneralSecurityException, ConfigException {
        Matcher block = BLOCK.matcher(Files.readString(keyFile));
        if (!block.find()) {
            throw new ConfigException("--tls-key-file " + keyFile + ": no PEM block in it");
        }
        byte[] der = Base64.getMimeDecoder().decode(block.group(2));
        return switch (block.group(1)) {
            case "PRIVATE KEY" -> pkcs8(der);
            case "RSA PRIVATE KEY" -> KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(rsaPkcs1ToPkcs8(der)));
            default -> throw new ConfigException("--tls-key-file " + keyFile + ": a " + block.group(1)
                    + "; expected PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)");
        };
    }

    private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
        GeneralSecurityException first = null;
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                first = first == null ? e : first;
            }
        }
        throw first;
    }

    /** PrivateKeyInfo ::= SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING pkcs1 }. */
    static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        body.writeBytes(RSA_ALGORITHM);
        body.writeBytes(tlv(0x04, pkcs1));
        return tlv(0x30, body.toByteArray());
    }

    private static byte[] tlv(int tag, byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int length = value.length;
        if (length < 0x80) {
            out.write(length);
        } else {
            int bytes = (Integer.SIZE - Integer.numberOfLeadingZeros(length) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write((length >>> (8 * i)) & 0xff);
            }
        }
        out.writeBytes(value);
        return out.toByteArray();
    }
}
