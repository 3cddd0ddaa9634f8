// SPDX-License-Identifier: Apache-2.0
/**
 * The "tornado" backend: the optimizers' kernels (SGD-SaI / SGDM, AdamW, Adam-mini, clipping) compiled by TornadoVM
 * for a GPU (or any OpenCL, PTX or SPIR-V device), one launch per step for all tensors, optimizer state kept on the
 * device.
 */
module io.github.sgdsai.tornado {
    requires io.github.sgdsai;
    requires tornado.api;

    exports io.github.sgdsai.tornado;
    opens io.github.sgdsai.tornado to tornado.runtime, tornado.drivers.common, tornado.drivers.opencl;

    provides io.github.sgdsai.spi.BackendProvider with io.github.sgdsai.tornado.TornadoBackendProvider;
}
