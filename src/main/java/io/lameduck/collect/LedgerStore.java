package io.lameduck.collect;

import java.util.Optional;

/** Where the collector's {@link LedgerState} survives the collector. */
interface LedgerStore {
    /** The persisted state; empty when there is none yet. */
    Optional<LedgerState> load() throws StoreException;

    /**
     * Writes {@code state} over the one last loaded or saved; a state someone else wrote in between is not overwritten:
     * that is a {@link StoreException} with {@link StoreException#conflict()} true.
     *
     * @return the size of what was written, in bytes
     */
    int save(LedgerState state) throws StoreException;

    /** Reading or writing the state failed; the message says which and why. */
    final class StoreException extends Exception {
        private final boolean conflict;

        StoreException(String message, boolean conflict, Throwable cause) {
            super(message, cause);
            this.conflict = conflict;
        }

        /** Another writer changed the state since this collector read it (a second collector?). */
        boolean conflict() {
            return conflict;
        }
    }
}
