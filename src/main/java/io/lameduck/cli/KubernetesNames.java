package io.lameduck.cli;

import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Command-line converters for Kubernetes names, shared by the commands that take them (check, collector, terminations). */
final class KubernetesNames {
    private KubernetesNames() {}

    /** A namespace or container name: an RFC 1123 label. */
    static final class Label implements ITypeConverter<String> {
        private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

        @Override
        public String convert(String text) {
            if (!LABEL.matcher(text).matches()) {
                throw new TypeConversionException("\"" + text + "\": expected a Kubernetes name of 1 to 63 lower-case letters, digits and "
                        + "'-', starting and ending with a letter or digit");
            }
            return text;
        }
    }

    /** A ConfigMap or workload name: an RFC 1123 subdomain (at most 253 characters). */
    static final class Subdomain implements ITypeConverter<String> {
        private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

        @Override
        public String convert(String text) {
            if (!SUBDOMAIN.matcher(text).matches()) {
                throw new TypeConversionException("\"" + (text.length() > 60 ? text.substring(0, 60) + "…" : text) + "\": expected a "
                        + "Kubernetes name of 1 to 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit");
            }
            return text;
        }
    }
}
