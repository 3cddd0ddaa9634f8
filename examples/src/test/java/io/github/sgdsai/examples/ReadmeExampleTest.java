// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.examples;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReadmeExampleTest {
    @Test
    void theReadmeExampleRuns() throws IOException {
        assertEquals(100, ReadmeExample.run());
    }
}
