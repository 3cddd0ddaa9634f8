// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.examples;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DigitsTest {

    @Test
    void theShippedDataSetIsComplete() {
        Digits.Data d = Digits.load(1);
        assertEquals(1797, d.trainY().length + d.testY().length);
        assertEquals(359, d.testY().length);
    }

    @Test
    void sgdSaiLearnsTheDigits() {
        Digits.Result r = Digits.train(Digits.load(42), 30, 0.01, 42, false);
        assertTrue(r.testAccuracy() >= 0.90, "held-out accuracy " + r.testAccuracy());
    }

    @Test
    void trainingIsDeterministic() {
        Digits.Data d = Digits.load(7);
        assertEquals(Digits.train(d, 2, 0.01, 7, false), Digits.train(d, 2, 0.01, 7, false));
    }
}
