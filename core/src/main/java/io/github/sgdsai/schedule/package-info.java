// SPDX-License-Identifier: Apache-2.0
/**
 * Learning-rate (and momentum) schedules: pure functions from the optimizer's step count to a value, so that
 * they need no state and survive a checkpoint by construction. {@link io.github.sgdsai.schedule.Schedules}
 * holds the built-ins, anchored to torch, optax and Hugging Face, and the check an optimizer applies at step
 * time; {@link io.github.sgdsai.schedule.OneCycle} is the one-cycle policy with its momentum cycle.
 */
package io.github.sgdsai.schedule;
