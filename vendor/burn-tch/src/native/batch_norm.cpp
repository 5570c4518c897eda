// aelab: libtorch's own batch-norm backward, which tch 0.22 does not bind (it binds the
// forward, `native_batch_norm`). One fused kernel gives the input, scale and shift gradients,
// where burn differentiates a dozen element-wise ops one by one. Tensors are tch's handles.
#include <ATen/ops/native_batch_norm_backward.h>

#include <cstring>
#include <exception>

extern "C" {

// Gradients of training-mode batch norm over all axes but 1, given the batch mean and inverse
// standard deviation the forward saved. Writes three new tensor handles (input, gamma, beta)
// to `grads`. Returns null on success, else an error message the caller frees with `free`.
char *aelab_batch_norm_backward(const at::Tensor *grad_output, const at::Tensor *input,
                                const at::Tensor *gamma, const at::Tensor *save_mean,
                                const at::Tensor *save_invstd, double epsilon,
                                at::Tensor **grads) {
  try {
    auto [grad_input, grad_gamma, grad_beta] = at::native_batch_norm_backward(
        *grad_output, *input, *gamma, ::std::nullopt, ::std::nullopt, *save_mean,
        *save_invstd, true, epsilon, {true, true, true});
    grads[0] = new at::Tensor(grad_input);
    grads[1] = new at::Tensor(grad_gamma);
    grads[2] = new at::Tensor(grad_beta);
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

} // extern "C"
