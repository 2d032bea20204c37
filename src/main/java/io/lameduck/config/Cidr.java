package io.lameduck.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.regex.Pattern;

/** An IPv4 or IPv6 network such as {@code 10.0.0.0/8} or {@code ::1/128}; a bare address means one host. */
public record Cidr(byte[] network, int prefixLength, String text) {
    private static final Pattern LITERAL = Pattern.compile("[0-9a-fA-F:.]+");

    /** The network, or empty if {@code text} is not an IP literal with an optional valid prefix. */
    public static Optional<Cidr> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String[] parts = text.trim().split("/", -1);
        if (parts.length > 2 || !LITERAL.matcher(parts[0]).matches()) {
            return Optional.empty(); // also keeps InetAddress from resolving host names
        }
        try {
            byte[] address = InetAddress.getByName(parts[0]).getAddress();
            int bits = address.length * 8;
            int prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : bits;
            if (prefix < 0 || prefix > bits) {
                return Optional.empty();
            }
            return Optional.of(new Cidr(address, prefix, text.trim()));
        } catch (UnknownHostException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    public boolean contains(InetAddress address) {
        byte[] candidate = address.getAddress();
        if (candidate.length != network.length) {
            return false;
        }
        int fullBytes = prefixLength / 8;
        for (int i = 0; i < fullBytes; i++) {
            if (candidate[i] != network[i]) {
                return false;
            }
        }
        int remainingBits = prefixLength % 8;
        if (remainingBits == 0) {
            return true;
        }
        int mask = (0xFF << (8 - remainingBits)) & 0xFF;
        return (candidate[fullBytes] & mask) == (network[fullBytes] & mask);
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr cidr && cidr.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }
}
