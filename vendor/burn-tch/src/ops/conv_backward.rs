//! aelab: the gradients of a 2-D convolution from libtorch's own `convolution_backward`
//! (oneDNN on the CPU, cuDNN on NVIDIA GPUs) through a small C++ shim
//! (`src/native/conv_backward.cpp`), since tch 0.22 does not bind it. burn's generic pass
//! (a transposed convolution for the input, a convolution over swapped axes for the weight)
//! runs the same arithmetic through kernels libtorch never tuned for those shapes.

use std::ffi::c_char;

use burn_backend::ops::ConvOptions;
use torch_sys::C_tensor;

use super::shim::check;

unsafe extern "C" {
    fn aelab_conv2d_backward(
        grad_output: *const C_tensor,
        input: *const C_tensor,
        weight: *const C_tensor,
        stride: *const i64,
        padding: *const i64,
        dilation: *const i64,
        groups: i64,
        want_input: bool,
        grad: *mut *mut C_tensor,
    ) -> *mut c_char;
}

/// Which gradient of the convolution to compute.
#[derive(Clone, Copy)]
pub(crate) enum Wrt {
    Input,
    Weight,
}

/// The gradient with respect to `wrt` of `conv2d(x, weight)` (no bias) given the gradient
/// of its output.
pub(crate) fn conv2d_backward(
    x: &tch::Tensor,
    weight: &tch::Tensor,
    output_grad: &tch::Tensor,
    options: &ConvOptions<2>,
    wrt: Wrt,
) -> tch::Tensor {
    let stride = options.stride.map(|v| v as i64);
    let padding = options.padding.map(|v| v as i64);
    let dilation = options.dilation.map(|v| v as i64);
    // The layout the forward ran in (ops/channels_last.rs), so the gradients come in it too.
    let weight = &super::channels_last::kernel_for(weight);
    let mut grad: *mut C_tensor = std::ptr::null_mut();
    // SAFETY: the three handles are live tch tensors for the whole call; the arrays hold the
    // two values the shim reads; on success the shim hands over a new tensor handle.
    let error = unsafe {
        aelab_conv2d_backward(
            output_grad.as_ptr(),
            x.as_ptr(),
            weight.as_ptr(),
            stride.as_ptr(),
            padding.as_ptr(),
            dilation.as_ptr(),
            options.groups as i64,
            matches!(wrt, Wrt::Input),
            &mut grad,
        )
    };
    check(error, "convolution_backward");
    // SAFETY: a handle the shim allocated for us, owned from here on.
    unsafe { tch::Tensor::from_ptr(grad) }
}
