// SPDX-License-Identifier: Apache-2.0
/** A user's application module: needs only sgdsai's core module; the vector backend is bound as a service. */
module quickstart {
    requires io.github.sgdsai;
}
