//! The backends the model runs on: any burn backend, plus a fused training-mode batch norm
//! where the backend has one. A fused batch norm reads and writes the activations about four
//! times per layer, forward and backward; burn's element-wise ops, differentiated one by one
//! (`BatchNorm2d`'s generic path), about seventeen. LibTorch uses its own kernels
//! (`native_batch_norm`), flex aelab's (`batch_norm_cpu`); cuda, wgpu and ndarray keep the generic
//! path, so the model stays generic over the backend.

use burn::backend::Autodiff;
use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Shape, TensorData};

use super::batch_norm_cpu;

/// A burn backend with, optionally, a fused batch norm.
pub trait ModelBackend: Backend {
    /// Whether [ModelBackend::fused_batch_norm] and its backward exist here.
    const FUSED_BATCH_NORM: bool = false;

    /// Whether the model adds each conv's bias inside the convolution and upsamples with
    /// burn's nearest `interpolate`, the backend's own ops, instead of aelab's row-wise bias
    /// add and repeat-based upsampling (`block::convolve`, `decoder::upsample_nearest_2x`).
    /// LibTorch's own ops are fast and keep its channels-last layout, where the reshapes of
    /// aelab's versions copy every activation back to NCHW. Elsewhere aelab's are the fast
    /// ones: flex runs a broadcast bias and `interpolate` element by element, and burn's CUDA
    /// nearest backward failed on the GPU (docs/gpu-notes.md).
    const NATIVE_BIAS_AND_UPSAMPLING: bool = false;

    /// Training-mode batch norm of `x` (`[N, C, H, W]`) over batch, height and width:
    /// `[(x - mean) / sqrt(var + epsilon) * gamma + beta, mean, 1 / sqrt(var + epsilon)]`,
    /// with the batch's mean and biased variance per channel. Only called where
    /// [ModelBackend::FUSED_BATCH_NORM] holds.
    fn fused_batch_norm(
        _x: FloatTensor<Self>,
        _gamma: FloatTensor<Self>,
        _beta: FloatTensor<Self>,
        _epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        unreachable!("no fused batch norm on this backend")
    }

    /// Gradients of [ModelBackend::fused_batch_norm] with respect to `x`, `gamma` and `beta`.
    fn fused_batch_norm_backward(
        _output_grad: FloatTensor<Self>,
        _x: FloatTensor<Self>,
        _gamma: FloatTensor<Self>,
        _mean: FloatTensor<Self>,
        _invstd: FloatTensor<Self>,
        _epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        unreachable!("no fused batch-norm backward on this backend")
    }
}

/// A training backend (autodiff) whose inference side is a [ModelBackend] too.
pub trait TrainBackend: AutodiffBackend<InnerBackend: ModelBackend> + ModelBackend {}

impl<B> TrainBackend for B where B: AutodiffBackend<InnerBackend: ModelBackend> + ModelBackend {}

impl ModelBackend for Flex {
    const FUSED_BATCH_NORM: bool = true;

    fn fused_batch_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> [FlexTensor; 3] {
        let x = x.to_contiguous();
        let dims = dims(&x);
        let outputs = batch_norm_cpu::forward(
            f32s(&x),
            dims,
            f32s(&gamma.to_contiguous()),
            f32s(&beta.to_contiguous()),
            epsilon,
        );
        like_x_then_per_channel(outputs, &x, dims)
    }

    fn fused_batch_norm_backward(
        output_grad: FlexTensor,
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        invstd: FlexTensor,
        _epsilon: f64,
    ) -> [FlexTensor; 3] {
        let x = x.to_contiguous();
        let dims = dims(&x);
        let grads = batch_norm_cpu::backward(
            f32s(&output_grad.to_contiguous()),
            f32s(&x),
            dims,
            f32s(&gamma.to_contiguous()),
            f32s(&mean.to_contiguous()),
            f32s(&invstd.to_contiguous()),
        );
        like_x_then_per_channel(grads, &x, dims)
    }
}

/// A contiguous tensor's f32 values (`to_contiguous` is a cheap clone when it already is).
fn f32s(tensor: &FlexTensor) -> &[f32] {
    tensor
        .as_slice::<f32>()
        .expect("aelab's batch norm runs on f32 tensors")
}

fn dims(x: &FlexTensor) -> batch_norm_cpu::Dims {
    let shape = x.layout().shape();
    assert_eq!(shape.num_dims(), 4, "batch norm of [N, C, H, W]");
    batch_norm_cpu::Dims {
        batch: shape[0],
        channels: shape[1],
        plane: shape[2] * shape[3],
    }
}

/// The kernels' results as tensors: the first shaped like `x`, the other two `[channels]`.
fn like_x_then_per_channel(
    [full, first, second]: [Vec<f32>; 3],
    x: &FlexTensor,
    dims: batch_norm_cpu::Dims,
) -> [FlexTensor; 3] {
    let tensor = |values, shape| FlexTensor::from_data(TensorData::new(values, shape));
    let channels = Shape::from([dims.channels]);
    [
        tensor(full, x.layout().shape().clone()),
        tensor(first, channels.clone()),
        tensor(second, channels),
    ]
}

#[cfg(feature = "ndarray")]
impl ModelBackend for burn::backend::NdArray {}

#[cfg(feature = "cuda")]
impl ModelBackend for burn::backend::Cuda {}

#[cfg(feature = "wgpu")]
impl ModelBackend for burn::backend::Wgpu {}

#[cfg(feature = "tch")]
impl<E: burn::backend::libtorch::TchElement> ModelBackend for burn::backend::LibTorch<E> {
    const FUSED_BATCH_NORM: bool = burn::backend::libtorch::batch_norm::NATIVE_BATCH_NORM;
    const NATIVE_BIAS_AND_UPSAMPLING: bool = true;

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        burn::backend::libtorch::batch_norm::batch_norm_forward(x, gamma, beta, epsilon)
    }

    fn fused_batch_norm_backward(
        output_grad: FloatTensor<Self>,
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        invstd: FloatTensor<Self>,
        epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        burn::backend::libtorch::batch_norm::batch_norm_backward(
            output_grad,
            x,
            gamma,
            mean,
            invstd,
            epsilon,
        )
    }
}

/// Autodiff records the fused forward as one node whose backward is the backend's fused
/// backward. Its own backward (autodiff of autodiff) is never needed here.
impl<B: ModelBackend, C: CheckpointStrategy> ModelBackend for Autodiff<B, C> {
    const FUSED_BATCH_NORM: bool = B::FUSED_BATCH_NORM;
    const NATIVE_BIAS_AND_UPSAMPLING: bool = B::NATIVE_BIAS_AND_UPSAMPLING;

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        let [y, mean, invstd] = B::fused_batch_norm(
            x.primitive.clone(),
            gamma.primitive.clone(),
            beta.primitive.clone(),
            epsilon,
        );
        let nodes = [x.node.clone(), gamma.node.clone(), beta.node.clone()];
        let y = match FusedBatchNormBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let state = (
                    x.primitive,
                    gamma.primitive,
                    mean.clone(),
                    invstd.clone(),
                    epsilon,
                );
                prep.finish(state, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        // The statistics feed only the running averages, which are never differentiated.
        [y, Self::from_inner(mean), Self::from_inner(invstd)]
    }
}

#[derive(Debug)]
struct FusedBatchNormBackward;

impl<B: ModelBackend> Backward<B, 3> for FusedBatchNormBackward {
    /// `x`, `gamma`, the batch mean and inverse standard deviation, epsilon.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        f64,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let output_grad = grads.consume::<B>(&ops.node);
        let (x, gamma, mean, invstd, epsilon) = ops.state;
        let input_grads =
            B::fused_batch_norm_backward(output_grad, x, gamma, mean, invstd, epsilon);
        for (parent, grad) in ops.parents.into_iter().zip(input_grads) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}
