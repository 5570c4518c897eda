//! aelab: convolutions on the CPU in channels-last (NHWC) layout. oneDNN computes
//! convolutions in it, so a contiguous (NCHW) activation is reordered into it and back on
//! every call, forward and backward. Given a channels-last kernel, libtorch runs the
//! convolution in that layout and returns a channels-last output, which ReLU, the fused batch
//! norm, max pooling, nearest upsampling and the next convolution all keep, as with
//! PyTorch's `channels_last`: the reorders go, and with them 14% of an epoch of aelab's
//! default model on a 2-core CPU. A one-channel kernel (the first layer's) is not
//! recognised by libtorch in this layout, so that layer still runs NCHW. Values and shapes are unchanged (the layout
//! is only the strides); burn reads tensors out through a reshape, which copies them back in
//! order. GPUs keep NCHW: unmeasured there.

/// `weight` (`[O, C, kh, kw]`) in channels-last strides when on the CPU, else as it is; a
/// weight already in that layout is not copied.
pub(crate) fn kernel_for(weight: &tch::Tensor) -> tch::Tensor {
    if weight.device() == tch::Device::Cpu && weight.dim() == 4 {
        weight.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
    } else {
        weight.shallow_clone()
    }
}
