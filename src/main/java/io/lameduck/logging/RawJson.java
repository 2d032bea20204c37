package io.lameduck.logging;

/** A log field value that is already JSON: the JSON encoder embeds it as is instead of quoting it. */
public record RawJson(String json) {
    @Override
    public String toString() {
        return json;
    }
}
