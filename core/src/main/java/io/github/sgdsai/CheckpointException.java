// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.io.IOException;

/** A checkpoint could not be read or does not fit this optimizer; the optimizer was left unchanged. */
public final class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    CheckpointException(String message) {
        super(message);
    }

    CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
