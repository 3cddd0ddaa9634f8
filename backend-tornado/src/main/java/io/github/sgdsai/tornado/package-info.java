// SPDX-License-Identifier: Apache-2.0
/**
 * The {@code "tornado"} backend: the optimizers' kernels (SGD-SaI / SGDM, AdamW, Adam-mini, clipping) compiled by
 * TornadoVM for a GPU or any OpenCL, PTX or SPIR-V device, one launch per step for all tensors, optimizer state kept
 * on the device, bit-identical to the scalar reference.
 *
 * <p>{@link io.github.sgdsai.tornado.TornadoBackendProvider} is found by {@link java.util.ServiceLoader} when a
 * TornadoVM runtime is present. {@link io.github.sgdsai.tornado.DeviceTensors} holds parameters, gradients and
 * optimizer state in device memory, for training loops whose backward pass also runs on the device.
 */
package io.github.sgdsai.tornado;
