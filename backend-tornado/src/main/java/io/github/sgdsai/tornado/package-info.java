// SPDX-License-Identifier: Apache-2.0
/**
 * The {@code "tornado"} backend: SGD-SaI kernels compiled by TornadoVM for a GPU or any OpenCL, PTX or SPIR-V
 * device, one kernel launch per step for all tensors, momentum kept on the device.
 *
 * <p>{@link io.github.sgdsai.tornado.TornadoBackendProvider} is found by {@link java.util.ServiceLoader} when a
 * TornadoVM runtime is present. {@link io.github.sgdsai.tornado.DeviceTensors} holds parameters, gradients and
 * momentum in device memory, for training loops whose backward pass also runs on the device.
 */
package io.github.sgdsai.tornado;
