//! aelab's patch to burn-flex 0.21: 2D convolutions and both their gradients computed over
//! chunks of the batch, one GEMM per chunk, on every core.
//!
//! flex 0.21 runs a convolution image by image (and tile by tile), so each GEMM is thin (49
//! output positions on a 7x7 map) and packs the whole kernel again for every image; burn's
//! generic backward passes (burn-backend `ops/modules/conv.rs`) compute
//! - the input gradient as a `conv_transpose2d`, which flex 0.21 runs image after image with a
//!   single-threaded col2im; here, for stride 1 and dilation 1, it is the forward convolution
//!   of the output gradient with the kernel flipped and its channel axes swapped;
//! - the weight gradient as a convolution over `swap_dims(0, 1)` copies of the input and the
//!   output gradient (kernels as large as the image, copied element by element); here it is
//!   im2col of a chunk of images and one GEMM per chunk, accumulated per thread.
//!
//! A chunk is as many images as make about [`CHUNK_DEPTH`] output positions, and there are a
//! multiple of the thread count of them. Same results up to float summation order: aelab's
//! `tests/conv_gradients.rs` checks values and both gradients against direct loops, for
//! strides, paddings, dilations and groups.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_backend::ops::conv::calculate_conv_output_size;
use burn_std::{Bytes, Shape, bf16, f16};

use super::module::{cast_from_f32, cast_to_f32};
use crate::{FlexTensor, Layout};

/// GEMM depth (images x output positions) aimed for per chunk of the weight gradient: deep
/// enough that the kernel reuses each loaded block of the result, small enough to stay cached.
/// Chunks are at most this deep.
const CHUNK_DEPTH: usize = 1024;

/// Whether [`conv2d_x_backward`] handles these options: stride 1, dilation 1, one group, and
/// padding smaller than the kernel (burn's generic pass takes the rest).
pub fn x_backward_is_a_conv(weight: &FlexTensor, options: &ConvOptions<2>) -> bool {
    let [_, _, kernel_h, kernel_w] = dims4(weight);
    options.stride == [1, 1]
        && options.dilation == [1, 1]
        && options.groups == 1
        && options.padding[0] < kernel_h
        && options.padding[1] < kernel_w
}

/// The input gradient, as the forward convolution of the output gradient with the kernel
/// flipped and its channel axes swapped, padded by `kernel - 1 - padding`.
pub fn conv2d_x_backward(
    weight: &FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let [channels_out, channels_in, kernel_h, kernel_w] = dims4(weight);
    let (flipped, conv): (Bytes, fn(FlexTensor, FlexTensor, Option<FlexTensor>, &ConvOptions<2>) -> FlexTensor) =
        match weight.dtype() {
            DType::F32 => (flip_swap::<f32>(weight), conv2d),
            DType::F64 => (flip_swap::<f64>(weight), conv2d),
            DType::F16 => (flip_swap::<f16>(weight), super::conv::conv2d_f16),
            DType::BF16 => (flip_swap::<bf16>(weight), super::conv::conv2d_bf16),
            dtype => panic!("conv2d_x_backward: unsupported dtype {dtype:?}"),
        };
    let flipped = FlexTensor::new(
        flipped,
        Layout::contiguous(Shape::from(vec![
            channels_in,
            channels_out,
            kernel_h,
            kernel_w,
        ])),
        weight.dtype(),
    );
    let padding = [
        kernel_h - 1 - options.padding[0],
        kernel_w - 1 - options.padding[1],
    ];
    conv(output_grad, flipped, None, &ConvOptions::new([1, 1], padding, [1, 1], 1))
}

/// `weight[o, c, u, v]` -> `[c, o, kh - 1 - u, kw - 1 - v]`: the kernel of the transposed
/// convolution, as a forward one.
fn flip_swap<T: bytemuck::Pod + burn_backend::Element>(weight: &FlexTensor) -> Bytes {
    let [channels_out, channels_in, kernel_h, kernel_w] = dims4(weight);
    let weight = weight.to_contiguous();
    let data: &[T] = weight.storage();
    let mut flipped: Vec<T> = Vec::with_capacity(data.len());
    for c in 0..channels_in {
        for o in 0..channels_out {
            for u in (0..kernel_h).rev() {
                let row = ((o * channels_in + c) * kernel_h + u) * kernel_w;
                flipped.extend(data[row..row + kernel_w].iter().rev());
            }
        }
    }
    Bytes::from_elems(flipped)
}

/// The weight gradient `[channels_out, channels_in / groups, kh, kw]`, for any stride,
/// padding, dilation and grouping.
pub fn conv2d_weight_backward(
    x: FlexTensor,
    weight: &FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let dims = dims4(weight);
    let dense = |grad: Bytes| {
        FlexTensor::new(grad, Layout::contiguous(weight.layout().shape().clone()), weight.dtype())
    };
    match weight.dtype() {
        DType::F32 => dense(Bytes::from_elems(weight_grad::<f32>(&x, dims, &output_grad, options))),
        DType::F64 => dense(Bytes::from_elems(weight_grad::<f64>(&x, dims, &output_grad, options))),
        // gemm has no bf16, and f16 sums lose too much over a batch: half types work in f32.
        DType::F16 => weight_grad_in_f32(x, dims, output_grad, options, f16::to_f32, f16::from_f32),
        DType::BF16 => weight_grad_in_f32(x, dims, output_grad, options, bf16::to_f32, bf16::from_f32),
        dtype => panic!("conv2d_weight_backward: unsupported dtype {dtype:?}"),
    }
}

/// A half-precision weight gradient computed in f32, through flex's own casts.
fn weight_grad_in_f32<E: burn_backend::Element + bytemuck::Pod>(
    x: FlexTensor,
    weight_dims: [usize; 4],
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
    to_f32: fn(E) -> f32,
    from_f32: fn(f32) -> E,
) -> FlexTensor {
    let grad = weight_grad::<f32>(
        &cast_to_f32(x, to_f32),
        weight_dims,
        &cast_to_f32(output_grad, to_f32),
        options,
    );
    let shape = Shape::from(weight_dims.to_vec());
    let grad = FlexTensor::new(Bytes::from_elems(grad), Layout::contiguous(shape), DType::F32);
    cast_from_f32(grad, from_f32)
}

fn dims4(tensor: &FlexTensor) -> [usize; 4] {
    let shape = tensor.layout().shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

/// Where one image's output positions read the input, per kernel position.
struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
    kernel: [usize; 2],
    out: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
}

impl Geometry {
    fn positions(&self) -> usize {
        self.out[0] * self.out[1]
    }

    fn rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// im2col of one image `[C, H, W]` into `cols`, a `[C * kh * kw, row_stride]` matrix whose
    /// columns `offset..offset + positions` this image fills (zero where the kernel reads the
    /// padding).
    fn unfold<T: Copy + Default>(&self, image: &[T], cols: &mut [T], row_stride: usize, offset: usize) {
        if self.stride == [1, 1] && self.dilation == [1, 1] && self.out == [self.height, self.width] {
            return self.unfold_same(image, cols, row_stride, offset);
        }
        let [out_h, out_w] = self.out;
        let mut row = 0;
        for c in 0..self.channels {
            let plane = &image[c * self.height * self.width..(c + 1) * self.height * self.width];
            for u in 0..self.kernel[0] {
                for v in 0..self.kernel[1] {
                    let dst = &mut cols[row * row_stride + offset..][..out_h * out_w];
                    for oh in 0..out_h {
                        let dst_row = &mut dst[oh * out_w..(oh + 1) * out_w];
                        let ih = (oh * self.stride[0] + u * self.dilation[0]).wrapping_sub(self.padding[0]);
                        if ih >= self.height {
                            dst_row.fill(T::default());
                            continue;
                        }
                        let src_row = &plane[ih * self.width..(ih + 1) * self.width];
                        let shift = v * self.dilation[1];
                        if self.stride[1] == 1 {
                            // Contiguous: zeros, a copied run, zeros.
                            let first = self.padding[1].saturating_sub(shift).min(out_w);
                            let start = (first + shift) - self.padding[1];
                            let len = out_w.saturating_sub(first).min(self.width.saturating_sub(start));
                            dst_row[..first].fill(T::default());
                            dst_row[first..first + len].copy_from_slice(&src_row[start..start + len]);
                            dst_row[first + len..].fill(T::default());
                        } else {
                            for (ow, d) in dst_row.iter_mut().enumerate() {
                                let iw = (ow * self.stride[1] + shift).wrapping_sub(self.padding[1]);
                                *d = if iw < self.width { src_row[iw] } else { T::default() };
                            }
                        }
                    }
                    row += 1;
                }
            }
        }
    }
}

impl Geometry {
    /// [`Geometry::unfold`] for stride 1, dilation 1 and an output the input's size (the
    /// model's "same" convolutions): each kernel position's row is the image plane shifted by
    /// a constant offset, so it is one copy plus zeros at the edges, not one short copy per
    /// output row.
    fn unfold_same<T: Copy + Default>(&self, image: &[T], cols: &mut [T], row_stride: usize, offset: usize) {
        let (height, width) = (self.height, self.width);
        let plane_len = height * width;
        let zero = T::default();
        let mut row = 0;
        for plane in image.chunks_exact(plane_len).take(self.channels) {
            for u in 0..self.kernel[0] {
                for v in 0..self.kernel[1] {
                    let dst = &mut cols[row * row_stride + offset..][..plane_len];
                    row += 1;
                    let dh = u as isize - self.padding[0] as isize;
                    let dw = v as isize - self.padding[1] as isize;
                    // Output rows that read a real input row.
                    let first = (-dh).clamp(0, height as isize) as usize;
                    let last = (height as isize - dh).clamp(first as isize, height as isize) as usize;
                    dst[..first * width].fill(zero);
                    dst[last * width..].fill(zero);
                    if first == last {
                        continue;
                    }
                    // dst[q] = plane[q + shift] for the valid rows, clipped to the plane at
                    // both ends; whatever the clipping leaves out lies in the wrapped columns
                    // zeroed below.
                    let shift = dh * width as isize + dw;
                    let (q0, q1) = ((first * width) as isize, (last * width) as isize);
                    let src0 = (q0 + shift).max(0);
                    let src1 = (q1 + shift).min(plane_len as isize).max(src0);
                    let (d0, d1) = ((src0 - shift) as usize, (src1 - shift) as usize);
                    dst[d0..d1].copy_from_slice(&plane[src0 as usize..src1 as usize]);
                    // Columns that read past the row's end (or before its start) got the
                    // neighbouring row's pixels: they read padding. Zeroed with plain stores,
                    // column by column down the rows: a memset call per row cost more than the
                    // one or two values it wrote.
                    let wrapped = dw.unsigned_abs().min(width);
                    let first_column = if dw > 0 { width - wrapped } else { 0 };
                    for column in first_column..first_column + wrapped {
                        for oh in first..last {
                            dst[oh * width + column] = zero;
                        }
                    }
                }
            }
        }
    }
}

/// Two scratch buffers of `lens` elements for `work`: kept per thread between calls, since
/// im2col and GEMM results overwrite them before reading, which saves zero-filling megabytes
/// on every convolution.
fn with_scratch<T: bytemuck::Pod, R, F: FnOnce(&mut [T], &mut [T]) -> R>(lens: [usize; 2], work: F) -> R {
    fn view<T: bytemuck::Pod>(words: &mut Vec<u64>, len: usize) -> &mut [T] {
        let needed = (len * core::mem::size_of::<T>()).div_ceil(8);
        if words.len() < needed {
            words.resize(needed, 0);
        }
        &mut bytemuck::cast_slice_mut::<u64, T>(&mut words[..needed])[..len]
    }
    let fresh = |work: F| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        work(view(&mut a, lens[0]), view(&mut b, lens[1]))
    };
    #[cfg(feature = "std")]
    {
        std::thread_local! {
            static SCRATCH: core::cell::RefCell<[Vec<u64>; 2]> = const { core::cell::RefCell::new([Vec::new(), Vec::new()]) };
        }
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffers) => {
                let [a, b] = &mut *buffers;
                work(view(a, lens[0]), view(b, lens[1]))
            }
            // A convolution inside another on this thread: its own buffers.
            Err(_) => fresh(work),
        })
    }
    #[cfg(not(feature = "std"))]
    fresh(work)
}

fn weight_grad<T>(
    x: &FlexTensor,
    weight_dims: [usize; 4],
    output_grad: &FlexTensor,
    options: &ConvOptions<2>,
) -> Vec<T>
where
    T: bytemuck::Pod + burn_backend::Element + Default + Send + Sync + core::ops::Add<Output = T> + 'static,
{
    let x = x.to_contiguous();
    let output_grad = output_grad.to_contiguous();
    let [batch, channels, height, width] = dims4(&x);
    let [_, channels_out, out_h, out_w] = dims4(&output_grad);
    let [_, channels_per_group, kernel_h, kernel_w] = weight_dims;
    let groups = options.groups;
    let geometry = Geometry {
        channels,
        height,
        width,
        kernel: [kernel_h, kernel_w],
        out: [out_h, out_w],
        stride: options.stride,
        padding: options.padding,
        dilation: options.dilation,
    };
    let x_data: &[T] = x.storage();
    let grad_data: &[T] = output_grad.storage();
    let positions = geometry.positions();
    let per_chunk = images_per_chunk(batch, positions);
    let grad_len = channels_out * channels_per_group * kernel_h * kernel_w;

    // One chunk of images: dW += dY[O, n * P] . cols[C * kh * kw, n * P]^T, per group.
    let add_chunk = |first: usize, acc: &mut Vec<T>| {
        let images = per_chunk.min(batch - first);
        let depth = images * positions;
        with_scratch::<T, _, _>([geometry.rows() * depth, channels_out * depth], |cols, dy| {
        for i in 0..images {
            let b = first + i;
            let image = &x_data[b * channels * height * width..(b + 1) * channels * height * width];
            geometry.unfold(image, cols, depth, i * positions);
            let grad = &grad_data[b * channels_out * positions..(b + 1) * channels_out * positions];
            for o in 0..channels_out {
                dy[o * depth + i * positions..][..positions]
                    .copy_from_slice(&grad[o * positions..(o + 1) * positions]);
            }
        }
        let out_per_group = channels_out / groups;
        let rows_per_group = channels_per_group * kernel_h * kernel_w;
        for g in 0..groups {
            // SAFETY: every offset and extent below lies inside the buffers sized above:
            // acc is [O, rows_per_group], dy is [O, depth], cols is [groups * rows_per_group, depth].
            unsafe {
                gemm::gemm(
                    out_per_group,
                    rows_per_group,
                    depth,
                    acc.as_mut_ptr().add(g * out_per_group * rows_per_group),
                    1,
                    rows_per_group as isize,
                    true,
                    dy.as_ptr().add(g * out_per_group * depth),
                    1,
                    depth as isize,
                    cols.as_ptr().add(g * rows_per_group * depth),
                    depth as isize,
                    1,
                    T::from_elem(1.0),
                    T::from_elem(1.0),
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        });
    };

    let starts: Vec<usize> = (0..batch).step_by(per_chunk).collect();
    // A fixed order of float additions, whatever the scheduling: the chunks split into one
    // run of consecutive chunks per thread, each summed in order, and the runs' sums added
    // in order (rayon's fold/reduce would group them by which thread stole what).
    #[cfg(feature = "rayon")]
    let partials: Vec<Vec<T>> = {
        use rayon::prelude::*;
        let runs = rayon::current_num_threads().clamp(1, starts.len().max(1));
        starts
            .par_chunks(starts.len().div_ceil(runs).max(1))
            .map(|run| {
                let mut acc = vec![T::default(); grad_len];
                for &first in run {
                    add_chunk(first, &mut acc);
                }
                acc
            })
            .collect()
    };
    #[cfg(not(feature = "rayon"))]
    let partials: Vec<Vec<T>> = vec![{
        let mut acc = vec![T::default(); grad_len];
        for &first in &starts {
            add_chunk(first, &mut acc);
        }
        acc
    }];
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_else(|| vec![T::default(); grad_len]);
    for partial in partials {
        total.iter_mut().zip(partial).for_each(|(a, b)| *a = *a + b);
    }
    total
}

/// Images per chunk: chunks of at most [`CHUNK_DEPTH`] output positions, as equal as can be
/// and a multiple of the thread count of them, so no core waits at the end.
fn images_per_chunk(batch: usize, positions: usize) -> usize {
    #[cfg(feature = "rayon")]
    let threads = rayon::current_num_threads();
    #[cfg(not(feature = "rayon"))]
    let threads = 1;
    let chunks = threads * (batch * positions).div_ceil(threads * CHUNK_DEPTH).max(1);
    batch.div_ceil(chunks.clamp(1, batch.max(1))).max(1)
}

/// Whether [`conv2d`] takes this convolution: f32 or f64, one group, and a kernel larger
/// than 1x1 (flex's own 1x1 path needs no im2col at all).
pub fn conv2d_is_batched(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> bool {
    let [_, _, kernel_h, kernel_w] = dims4(weight);
    matches!(x.dtype(), DType::F32 | DType::F64)
        && x.dtype() == weight.dtype()
        && options.groups == 1
        && kernel_h * kernel_w > 1
}

/// A 2D convolution with one group: `out[b] = W[O, C * kh * kw] . im2col(x[b])`, a chunk of
/// images per GEMM.
pub fn conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor {
    match x.dtype() {
        DType::F32 => conv2d_typed::<f32>(x, weight, bias, options),
        DType::F64 => conv2d_typed::<f64>(x, weight, bias, options),
        dtype => panic!("conv2d: unsupported dtype {dtype:?}"),
    }
}

fn conv2d_typed<T>(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor
where
    T: bytemuck::Pod + burn_backend::Element + Default + Send + Sync + core::ops::Add<Output = T> + 'static,
{
    let dtype = x.dtype();
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let [batch, channels, height, width] = dims4(&x);
    let [channels_out, _, kernel_h, kernel_w] = dims4(&weight);
    let out = [0, 1].map(|i| {
        calculate_conv_output_size(
            [kernel_h, kernel_w][i],
            options.stride[i],
            options.padding[i],
            options.dilation[i],
            [height, width][i],
        )
    });
    let geometry = Geometry {
        channels,
        height,
        width,
        kernel: [kernel_h, kernel_w],
        out,
        stride: options.stride,
        padding: options.padding,
        dilation: options.dilation,
    };
    let positions = geometry.positions();
    let rows = geometry.rows();
    let x_data: &[T] = x.storage();
    let w_data: &[T] = weight.storage();
    let bias = bias.map(|b| b.to_contiguous());
    let bias: Option<&[T]> = bias.as_ref().map(|b| b.storage());
    let per_chunk = images_per_chunk(batch, positions);
    let image_len = channels * height * width;
    let out_len = channels_out * positions;
    let mut output = vec![T::default(); batch * out_len];

    // One chunk: res[O, n * P] = W[O, rows] . cols[rows, n * P], then each image's rows of
    // P positions copied to its place.
    let run_chunk = |first: usize, out: &mut [T]| {
        let images = out.len() / out_len;
        let depth = images * positions;
        with_scratch::<T, _, _>([rows * depth, channels_out * depth], |cols, res| {
        for i in 0..images {
            let b = first + i;
            geometry.unfold(&x_data[b * image_len..(b + 1) * image_len], cols, depth, i * positions);
        }
        // SAFETY: res is [O, depth], W is [O, rows], cols is [rows, depth], as sized above.
        unsafe {
            gemm::gemm(
                channels_out,
                depth,
                rows,
                res.as_mut_ptr(),
                1,
                depth as isize,
                false,
                w_data.as_ptr(),
                1,
                rows as isize,
                cols.as_ptr(),
                1,
                depth as isize,
                T::from_elem(0.0),
                T::from_elem(1.0),
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for i in 0..images {
            for o in 0..channels_out {
                let dst = &mut out[i * out_len + o * positions..][..positions];
                dst.copy_from_slice(&res[o * depth + i * positions..][..positions]);
                if let Some(bias) = bias {
                    dst.iter_mut().for_each(|v| *v = *v + bias[o]);
                }
            }
        }
        });
    };

    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        output
            .par_chunks_mut(per_chunk * out_len)
            .enumerate()
            .for_each(|(index, out)| run_chunk(index * per_chunk, out));
    }
    #[cfg(not(feature = "rayon"))]
    {
        for (index, out) in output.chunks_mut(per_chunk * out_len).enumerate() {
            run_chunk(index * per_chunk, out);
        }
    }
    FlexTensor::new(
        Bytes::from_elems(output),
        Layout::contiguous(Shape::from(vec![batch, channels_out, out[0], out[1]])),
        dtype,
    )
}
