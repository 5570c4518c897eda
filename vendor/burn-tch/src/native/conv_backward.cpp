// aelab: libtorch's own convolution backward (oneDNN on the CPU, cuDNN on NVIDIA GPUs), which
// tch 0.22 does not bind. burn's generic backward computes the input gradient as a transposed
// convolution and the weight gradient as a convolution over swapped batch and channel axes,
// both much slower than the native kernels. Tensors are tch's handles (`torch::Tensor *`).
#include <ATen/ops/convolution_backward.h>

#include <cstdint>
#include <cstring>
#include <exception>

extern "C" {

// Computes the gradient of `input` (want_input) or of `weight` (otherwise) of a 2-D
// convolution without bias and writes a new tensor handle to `*grad`. Returns null on success,
// else an error message the caller frees with `free`.
char *aelab_conv2d_backward(const at::Tensor *grad_output, const at::Tensor *input,
                            const at::Tensor *weight, const int64_t *stride,
                            const int64_t *padding, const int64_t *dilation, int64_t groups,
                            bool want_input, at::Tensor **grad) {
  try {
    const int64_t output_padding[2] = {0, 0};
    auto grads = at::convolution_backward(
        *grad_output, *input, *weight, ::std::nullopt, at::IntArrayRef(stride, 2),
        at::IntArrayRef(padding, 2), at::IntArrayRef(dilation, 2), false,
        at::IntArrayRef(output_padding, 2), groups, {want_input, !want_input, false});
    *grad = new at::Tensor(want_input ? ::std::get<0>(grads) : ::std::get<1>(grads));
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

} // extern "C"
