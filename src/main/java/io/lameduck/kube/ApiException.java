package io.lameduck.kube;

/** A Kubernetes API call that did not succeed, classified by what the caller should do about it. */
final class ApiException extends Exception {
    private static final long serialVersionUID = 1L;

    enum Kind {
        /** No answer: connection refused, DNS, TLS, 5xx from an unavailable API server. */
        UNREACHABLE,
        /** 401 or 403: RBAC (or the credentials) do not allow it. */
        FORBIDDEN,
        /** 409: the object changed since it was read. */
        CONFLICT,
        /** 404. */
        NOT_FOUND,
        /** The agent's own time limit for the call passed. */
        TIMEOUT,
        /** Anything else (e.g. 422 invalid patch). */
        OTHER
    }

    private final Kind kind;

    ApiException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    Kind kind() {
        return kind;
    }
}
