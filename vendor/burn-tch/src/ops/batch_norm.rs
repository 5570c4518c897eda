//! aelab: training-mode batch normalisation with libtorch's own kernels: `native_batch_norm`
//! forward (bound by tch) and `native_batch_norm_backward` (through the C++ shim
//! `src/native/batch_norm.cpp`). Normalises over every axis but 1 (channels) with the batch's
//! mean and biased variance, as PyTorch and Keras do while training. Running statistics are
//! left to the caller, which gets the batch mean and inverse standard deviation back.

use crate::TchTensor;

/// Whether this build has the native backward: the shims compile wherever libtorch's headers
/// were found, which is every build that links libtorch.
pub const NATIVE_BATCH_NORM: bool = cfg!(native_shims);

/// `(x - mean) / sqrt(var + epsilon) * gamma + beta` per channel, with the batch mean and the
/// batch's `1 / sqrt(var + epsilon)` ([channels] each) that [batch_norm_backward] needs.
pub fn batch_norm_forward(
    x: TchTensor,
    gamma: TchTensor,
    beta: TchTensor,
    epsilon: f64,
) -> [TchTensor; 3] {
    let (y, mean, invstd) = x.tensor.native_batch_norm(
        Some(&gamma.tensor),
        Some(&beta.tensor),
        None::<&tch::Tensor>,
        None::<&tch::Tensor>,
        true,
        0.0,
        epsilon,
    );
    [y, mean, invstd].map(TchTensor::new)
}

/// The gradients of [batch_norm_forward] with respect to `x`, `gamma` and `beta`.
#[cfg(native_shims)]
pub fn batch_norm_backward(
    output_grad: TchTensor,
    x: TchTensor,
    gamma: TchTensor,
    mean: TchTensor,
    invstd: TchTensor,
    epsilon: f64,
) -> [TchTensor; 3] {
    use torch_sys::C_tensor;

    unsafe extern "C" {
        fn aelab_batch_norm_backward(
            grad_output: *const C_tensor,
            input: *const C_tensor,
            gamma: *const C_tensor,
            save_mean: *const C_tensor,
            save_invstd: *const C_tensor,
            epsilon: f64,
            grads: *mut *mut C_tensor,
        ) -> *mut std::ffi::c_char;
    }

    let mut grads: [*mut C_tensor; 3] = [std::ptr::null_mut(); 3];
    // SAFETY: the five handles are live tch tensors for the whole call; on success the shim
    // writes three new tensor handles into `grads`.
    let error = unsafe {
        aelab_batch_norm_backward(
            output_grad.tensor.as_ptr(),
            x.tensor.as_ptr(),
            gamma.tensor.as_ptr(),
            mean.tensor.as_ptr(),
            invstd.tensor.as_ptr(),
            epsilon,
            grads.as_mut_ptr(),
        )
    };
    super::shim::check(error, "native_batch_norm_backward");
    // SAFETY: handles the shim allocated for us, owned from here on.
    grads.map(|grad| TchTensor::new(unsafe { tch::Tensor::from_ptr(grad) }))
}

/// Never called: callers check [NATIVE_BATCH_NORM] first.
#[cfg(not(native_shims))]
pub fn batch_norm_backward(
    _output_grad: TchTensor,
    _x: TchTensor,
    _gamma: TchTensor,
    _mean: TchTensor,
    _invstd: TchTensor,
    _epsilon: f64,
) -> [TchTensor; 3] {
    panic!("this burn-tch was built without libtorch's headers: no native batch-norm backward")
}
