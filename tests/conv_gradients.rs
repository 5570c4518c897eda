//! Convolutions and their gradients against direct loops over the definition, for the shapes
//! the model uses and for strides, paddings, dilations and groups it does not, on the two
//! backends whose convolution aelab patches: flex (`vendor/burn-flex/src/ops/conv2d_batched.rs`)
//! and, with `--features tch`, LibTorch (`vendor/burn-tch/src/ops/conv_backward.rs`).

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor, TensorData, Tolerance};

struct Case {
    batch: usize,
    channels_in: usize,
    channels_out: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
}

impl Case {
    fn out(&self) -> [usize; 2] {
        [0, 1].map(|i| {
            (self.size[i] + 2 * self.padding[i] - self.dilation[i] * (self.kernel[i] - 1) - 1)
                / self.stride[i]
                + 1
        })
    }

    /// For every (image, output channel, output position, input channel of the group,
    /// kernel position) that reads a real input pixel: call `visit(x index, w index, y index)`.
    fn each_term(&self, mut visit: impl FnMut(usize, usize, usize)) {
        let [h, w] = self.size;
        let [oh, ow] = self.out();
        let per_group_in = self.channels_in / self.groups;
        let per_group_out = self.channels_out / self.groups;
        for b in 0..self.batch {
            for o in 0..self.channels_out {
                let g = o / per_group_out;
                for (i, j) in (0..oh).flat_map(|i| (0..ow).map(move |j| (i, j))) {
                    let y = ((b * self.channels_out + o) * oh + i) * ow + j;
                    for c in 0..per_group_in {
                        let channel = g * per_group_in + c;
                        for u in 0..self.kernel[0] {
                            for v in 0..self.kernel[1] {
                                let r = (i * self.stride[0] + u * self.dilation[0])
                                    .wrapping_sub(self.padding[0]);
                                let s = (j * self.stride[1] + v * self.dilation[1])
                                    .wrapping_sub(self.padding[1]);
                                if r < h && s < w {
                                    let x = ((b * self.channels_in + channel) * h + r) * w + s;
                                    let k = ((o * per_group_in + c) * self.kernel[0] + u)
                                        * self.kernel[1]
                                        + v;
                                    visit(x, k, y);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn check<B: Backend>(&self) {
        let device = Default::default();
        let [h, w] = self.size;
        let x = Tensor::<Autodiff<B>, 4>::random(
            [self.batch, self.channels_in, h, w],
            Distribution::Default,
            &device,
        )
        .require_grad();
        let weight = Tensor::<Autodiff<B>, 4>::random(
            [
                self.channels_out,
                self.channels_in / self.groups,
                self.kernel[0],
                self.kernel[1],
            ],
            Distribution::Default,
            &device,
        )
        .require_grad();
        let [oh, ow] = self.out();
        let upstream = Tensor::<Autodiff<B>, 4>::random(
            [self.batch, self.channels_out, oh, ow],
            Distribution::Default,
            &device,
        );
        let options = ConvOptions::new(self.stride, self.padding, self.dilation, self.groups);
        let y = conv2d(x.clone(), weight.clone(), None, options);
        let y_values = y.clone().inner().into_data();
        let grads = (y * upstream.clone()).sum().backward();

        let values = |t: Tensor<B, 4>| t.into_data().to_vec::<f32>().unwrap();
        let (xs, ws, dy) = (
            values(x.clone().inner()),
            values(weight.clone().inner()),
            values(upstream.inner()),
        );
        let mut ys = vec![0f32; dy.len()];
        let mut dx = vec![0f32; xs.len()];
        let mut dw = vec![0f32; ws.len()];
        self.each_term(|xi, wi, yi| {
            ys[yi] += xs[xi] * ws[wi];
            dx[xi] += ws[wi] * dy[yi];
            dw[wi] += xs[xi] * dy[yi];
        });
        let tolerance = Tolerance::<f32>::rel_abs(1e-4, 1e-4);
        let name = format!(
            "kernel {:?} stride {:?} padding {:?} dilation {:?} groups {}",
            self.kernel, self.stride, self.padding, self.dilation, self.groups
        );
        eprintln!("{name}");
        y_values.assert_approx_eq(
            &TensorData::new(ys, [self.batch, self.channels_out, oh, ow]),
            tolerance,
        );
        x.grad(&grads)
            .unwrap()
            .into_data()
            .assert_approx_eq(&TensorData::new(dx, x.dims()), tolerance);
        weight
            .grad(&grads)
            .unwrap()
            .into_data()
            .assert_approx_eq(&TensorData::new(dw, weight.dims()), tolerance);
    }
}

fn same(kernel: usize, channels_in: usize, channels_out: usize, size: usize) -> Case {
    Case {
        batch: 3,
        channels_in,
        channels_out,
        size: [size, size],
        kernel: [kernel, kernel],
        stride: [1, 1],
        padding: [(kernel - 1) / 2; 2],
        dilation: [1, 1],
        groups: 1,
    }
}

fn same_padded_convolutions_as_the_model_runs_them<B: Backend>() {
    for kernel in [1, 3, 5] {
        same(kernel, 4, 6, 7).check::<B>();
    }
    // Large enough that the weight gradient takes several chunks of images.
    Case {
        batch: 45,
        ..same(3, 2, 3, 7)
    }
    .check::<B>();
    Case {
        batch: 5,
        ..same(3, 3, 2, 28)
    }
    .check::<B>();
    // Not square, and a kernel wider than the image.
    Case {
        size: [5, 9],
        ..same(3, 2, 3, 5)
    }
    .check::<B>();
    Case {
        size: [3, 2],
        ..same(5, 2, 3, 3)
    }
    .check::<B>();
}

fn strides_paddings_dilations_and_groups<B: Backend>() {
    let base = same(3, 4, 6, 9);
    for case in [
        Case {
            stride: [2, 1],
            ..same(3, 4, 6, 9)
        },
        Case {
            padding: [0, 2],
            kernel: [3, 4],
            ..same(3, 4, 6, 9)
        },
        Case {
            dilation: [2, 2],
            padding: [2, 1],
            ..same(3, 4, 6, 9)
        },
        Case {
            groups: 2,
            ..same(3, 4, 6, 9)
        },
        Case {
            stride: [2, 3],
            dilation: [1, 2],
            groups: 2,
            padding: [1, 0],
            size: [10, 11],
            ..base
        },
    ] {
        case.check::<B>();
    }
}

#[test]
fn flex_same_padded_convolutions_as_the_model_runs_them() {
    same_padded_convolutions_as_the_model_runs_them::<Flex>();
}

#[test]
fn flex_strides_paddings_dilations_and_groups() {
    strides_paddings_dilations_and_groups::<Flex>();
}

#[cfg(feature = "tch")]
#[test]
fn libtorch_same_padded_convolutions_as_the_model_runs_them() {
    same_padded_convolutions_as_the_model_runs_them::<burn::backend::LibTorch>();
}

#[cfg(feature = "tch")]
#[test]
fn libtorch_strides_paddings_dilations_and_groups() {
    strides_paddings_dilations_and_groups::<burn::backend::LibTorch>();
}
