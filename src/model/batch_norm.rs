//! Batch normalisation for `[batch, channels, H, W]`, computed with fewer passes than burn's
//! `BatchNorm`: both moments come from sums over batch, height and width (no
//! `swap_dims`/`reshape` copies), and normalising is one scale and one shift per channel.
//! On the CPU (flex) element-wise passes dominate a training step, so this matters, and
//! every full-size broadcast is laid out as one value per `H x W` row, the layout flex
//! applies with SIMD (see `channel_sums`).
//! Same parameters, running statistics and results as burn's `BatchNorm` (a test checks).

use burn::module::{Param, RunningState};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;

use super::backend::ModelBackend;

#[derive(Module, Debug)]
pub struct BatchNorm2d<B: ModelBackend> {
    pub gamma: Param<Tensor<B, 1>>,
    pub beta: Param<Tensor<B, 1>>,
    pub running_mean: RunningState<Tensor<B, 1>>,
    pub running_var: RunningState<Tensor<B, 1>>,
    /// Weight of the new batch in the running statistics (burn's convention).
    pub momentum: f64,
    pub epsilon: f64,
}

impl<B: ModelBackend> BatchNorm2d<B> {
    pub fn new(channels: usize, epsilon: f64, momentum: f64, device: &B::Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            momentum,
            epsilon,
        }
    }

    /// Batch statistics while training (autodiff on), running statistics otherwise.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if B::ad_enabled(&x.device()) {
            self.forward_train(x)
        } else {
            self.forward_on_running_statistics(x)
        }
    }

    /// The running statistics, left as they are, while training too (the scale and shift
    /// still get gradients): Keras' BatchNorm in inference mode.
    pub fn forward_on_running_statistics(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mean = self.running_mean.value().unsqueeze_dims(&[0, 2, 3]);
        let var = self.running_var.value().unsqueeze_dims(&[0, 2, 3]);
        self.normalize(x, mean, var)
    }

    fn forward_train(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_train_with(x, B::FUSED_BATCH_NORM)
    }

    /// `fused` picks the backend's fused kernels over burn's ops (tests run both on flex).
    fn forward_train_with(&self, x: Tensor<B, 4>, fused: bool) -> Tensor<B, 4> {
        let (y, mean, var) = if fused {
            self.forward_fused(x)
        } else {
            self.forward_generic(x)
        };
        let update = |running: &RunningState<Tensor<B, 1>>, batch_value: Tensor<B, 1>| {
            let new = batch_value.detach();
            let old = running.value_sync().to_device(&new.device());
            running.update(
                old.mul_scalar(1.0 - self.momentum)
                    .add(new.mul_scalar(self.momentum))
                    .detach(),
            );
        };
        update(&self.running_mean, mean);
        update(&self.running_var, var);
        y
    }

    /// The output and the batch's per-channel mean and biased variance, from burn's ops.
    fn forward_generic(&self, x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 1>, Tensor<B, 1>) {
        let [batch, channels, height, width] = x.dims();
        let count = (batch * height * width) as f64;
        let mean = channel_sums(x.clone()).div_scalar(count);
        let mean_of_squares = channel_sums(x.clone().square()).div_scalar(count);
        // The biased variance, as burn and Keras use; rounding can take it just below zero.
        let var = (mean_of_squares - mean.clone().square()).clamp_min(0.0);
        let y = self.normalize(x, mean.clone(), var.clone());
        (y, mean.reshape([channels]), var.reshape([channels]))
    }

    /// The same from the backend's fused kernels, one node for autodiff.
    fn forward_fused(&self, x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 1>, Tensor<B, 1>) {
        let float = |t: Tensor<B, 1>| t.into_primitive().tensor();
        let [y, mean, invstd] = B::fused_batch_norm(
            x.into_primitive().tensor(),
            float(self.gamma.val()),
            float(self.beta.val()),
            self.epsilon,
        );
        let invstd = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(invstd));
        let var = invstd
            .powi_scalar(-2)
            .sub_scalar(self.epsilon)
            .clamp_min(0.0);
        (
            Tensor::from_primitive(TensorPrimitive::Float(y)),
            Tensor::from_primitive(TensorPrimitive::Float(mean)),
            var,
        )
    }

    /// `(x - mean) / sqrt(var + eps) * gamma + beta` as one scale and one shift per channel.
    fn normalize(&self, x: Tensor<B, 4>, mean: Tensor<B, 4>, var: Tensor<B, 4>) -> Tensor<B, 4> {
        let gamma = self.gamma.val().unsqueeze_dims(&[0, 2, 3]);
        let beta = self.beta.val().unsqueeze_dims(&[0, 2, 3]);
        let scale = gamma.div(var.add_scalar(self.epsilon).sqrt());
        let shift = beta.sub(mean.mul(scale.clone()));
        // One value per (image, channel), stored for every image: flex then applies them
        // with its SIMD "scalar per row" path; a [1, C, 1, 1] broadcast over the batch
        // falls back to an element-by-element strided walk, several times slower.
        let batch = x.dims()[0];
        x.mul(scale.repeat_dim(0, batch))
            .add(shift.repeat_dim(0, batch))
    }
}

/// Per-channel sums of `[B, C, H, W]` as `[1, C, 1, 1]`: each image's `H x W` plane first,
/// then over the batch. The backward of a sum spreads its gradient over the summed dims;
/// spread over the planes alone, that is one value per contiguous row, which flex runs with
/// SIMD, where `sum_dims(&[0, 2, 3])` spreads over batch and planes at once and flex walks
/// all `B x C x H x W` elements one by one.
fn channel_sums<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    x.reshape([batch, channels, height * width])
        .sum_dim(2)
        .sum_dim(0)
        .reshape([1, channels, 1, 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Rng;
    use burn::backend::{Autodiff, Flex};
    use burn::module::AutodiffModule;
    use burn::nn::{BatchNorm, BatchNormConfig};

    type A = Autodiff<Flex>;

    /// A tensor of `shape` with values spread evenly over `mean ± spread`, drawn from `rng`:
    /// the same inputs every run (burn's random tensors come from one stream that every
    /// test in the process shares).
    fn drawn<B: Backend>(rng: &mut Rng, shape: [usize; 4], mean: f64, spread: f64) -> Tensor<B, 4> {
        let count = shape.iter().product();
        let values: Vec<f32> = (0..count)
            .map(|_| {
                let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                (mean + spread * (2.0 * unit - 1.0)) as f32
            })
            .collect();
        Tensor::<B, 1>::from_floats(values.as_slice(), &Default::default()).reshape(shape)
    }

    /// ||a - b|| / ||b||.
    fn relative_error<const D: usize>(a: Tensor<Flex, D>, b: Tensor<Flex, D>) -> f64 {
        let diff = (a - b.clone()).square().sum().into_scalar() as f64;
        let norm = b.square().sum().into_scalar() as f64;
        (diff / norm).sqrt()
    }

    fn pair(rng: &mut Rng, channels: usize) -> (BatchNorm2d<A>, BatchNorm<A>) {
        let device = Default::default();
        let mut ours = BatchNorm2d::<A>::new(channels, 1e-3, 0.01, &device);
        let mut theirs = BatchNormConfig::new(channels)
            .with_epsilon(1e-3)
            .with_momentum(0.01)
            .init::<A>(&device);
        // Separate leaves with equal values: each backward pass consumes its own graph.
        let gamma = drawn::<Flex>(rng, [1, channels, 1, 1], 1.0, 0.5).reshape([channels]);
        let beta = drawn::<Flex>(rng, [1, channels, 1, 1], 0.0, 0.5).reshape([channels]);
        let leaf = |t: &Tensor<Flex, 1>| Param::from_tensor(Tensor::<A, 1>::from_inner(t.clone()));
        ours.gamma = leaf(&gamma);
        ours.beta = leaf(&beta);
        theirs.gamma = leaf(&gamma);
        theirs.beta = leaf(&beta);
        (ours, theirs)
    }

    #[test]
    fn fused_kernels_match_burns_batch_norm_in_training_and_eval() {
        matches_burns_batch_norm(true);
    }

    #[test]
    fn generic_ops_match_burns_batch_norm_in_training_and_eval() {
        matches_burns_batch_norm(false);
    }

    fn matches_burns_batch_norm(fused: bool) {
        let mut rng = Rng::new(7);
        let (ours, theirs) = pair(&mut rng, 6);
        for step in 0..3 {
            // Inputs with an offset that moves each step, fresh each step.
            let x = drawn::<Flex>(&mut rng, [8, 6, 5, 7], 0.5 + step as f64, 3.0);
            let x_ours = Tensor::<A, 4>::from_inner(x.clone()).require_grad();
            let x_theirs = Tensor::<A, 4>::from_inner(x).require_grad();
            let weights = drawn::<A>(&mut rng, [8, 6, 5, 7], 0.5, 0.5);
            let y_ours = ours.forward_train_with(x_ours.clone(), fused);
            let y_theirs = theirs.forward(x_theirs.clone());
            assert!(relative_error(y_ours.clone().inner(), y_theirs.clone().inner()) < 1e-5);

            let g_ours = (y_ours * weights.clone()).sum().backward();
            let g_theirs = (y_theirs * weights).sum().backward();
            let grad = |g: &_, t: &Tensor<A, 4>| t.grad(g).unwrap();
            assert!(
                relative_error(grad(&g_ours, &x_ours), grad(&g_theirs, &x_theirs)) < 1e-5,
                "dx"
            );
            let dgamma = |g, p: &Param<Tensor<A, 1>>| p.val().grad(g).unwrap();
            assert!(
                relative_error(
                    dgamma(&g_ours, &ours.gamma),
                    dgamma(&g_theirs, &theirs.gamma)
                ) < 1e-5
            );
            assert!(
                relative_error(dgamma(&g_ours, &ours.beta), dgamma(&g_theirs, &theirs.beta)) < 1e-5
            );
        }
        let stats = |a: &RunningState<Tensor<A, 1>>| a.value().inner();
        assert!(relative_error(stats(&ours.running_mean), stats(&theirs.running_mean)) < 1e-5);
        assert!(relative_error(stats(&ours.running_var), stats(&theirs.running_var)) < 1e-5);

        let x = drawn::<Flex>(&mut rng, [4, 6, 5, 7], 1.0, 1.5);
        let eval_ours = ours.valid().forward(x.clone());
        let eval_theirs = theirs.valid().forward(x);
        assert!(relative_error(eval_ours, eval_theirs) < 1e-5);
    }
}
