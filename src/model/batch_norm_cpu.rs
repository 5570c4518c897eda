//! Training-mode batch norm of `[N, C, H, W]` on plain f32 slices, for CPU backends that lend
//! their storage (flex): one pass for the statistics and one for the output each way, where
//! burn's element-wise ops, differentiated one by one, take about seventeen. Planes (one
//! image's `H x W` of one channel) are contiguous; statistics run per channel in parallel,
//! the element-wise passes per plane. Sums of one plane are f32, across planes f64.

use rayon::prelude::*;

/// Lanes per partial sum: wide enough for the compiler to keep them in SIMD registers
/// (float sums are not reassociated, so one accumulator would run serially).
const LANES: usize = 16;

/// The layout of a `[N, C, H, W]` tensor.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub batch: usize,
    pub channels: usize,
    /// `H x W`.
    pub plane: usize,
}

impl Dims {
    fn count(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    /// Image `n`'s plane of channel `c`.
    fn plane<'a>(&self, values: &'a [f32], n: usize, c: usize) -> &'a [f32] {
        let start = (n * self.channels + c) * self.plane;
        &values[start..start + self.plane]
    }

    /// Per channel, the sums over every plane of that channel of `f(a, b)` and `g(a, b)`.
    fn channel_sums(
        &self,
        a: &[f32],
        b: &[f32],
        f: impl Fn(f32, f32) -> f32 + Sync,
        g: impl Fn(f32, f32) -> f32 + Sync,
    ) -> Vec<(f64, f64)> {
        (0..self.channels)
            .into_par_iter()
            .map(|c| {
                let (mut first, mut second) = (0f64, 0f64);
                for n in 0..self.batch {
                    let (p, q) = plane_sums(self.plane(a, n, c), self.plane(b, n, c), &f, &g);
                    first += f64::from(p);
                    second += f64::from(q);
                }
                (first, second)
            })
            .collect()
    }

    /// `p * a + q * b + r` for every element, with `[p, q, r]` = `coefficients[c]` for the
    /// plane's channel `c`, plane by plane in parallel.
    fn combine_planes(&self, a: &[f32], b: &[f32], coefficients: &[[f32; 3]]) -> Vec<f32> {
        let mut out = vec![0f32; a.len()];
        out.par_chunks_mut(self.plane)
            .zip(a.par_chunks(self.plane).zip(b.par_chunks(self.plane)))
            .enumerate()
            .for_each(|(index, (out, (a, b)))| {
                let [p, q, r] = coefficients[index % self.channels];
                for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                    *o = p * a + q * b + r;
                }
            });
        out
    }
}

/// `(sum f(a, b), sum g(a, b))` over one plane, in `LANES` partial sums.
fn plane_sums(
    a: &[f32],
    b: &[f32],
    f: impl Fn(f32, f32) -> f32,
    g: impl Fn(f32, f32) -> f32,
) -> (f32, f32) {
    let (mut first, mut second) = ([0f32; LANES], [0f32; LANES]);
    let chunks = a.chunks_exact(LANES).zip(b.chunks_exact(LANES));
    for (a, b) in chunks {
        for lane in 0..LANES {
            first[lane] += f(a[lane], b[lane]);
            second[lane] += g(a[lane], b[lane]);
        }
    }
    let tail = a.len() - a.len() % LANES;
    let (mut p, mut q) = (first.iter().sum::<f32>(), second.iter().sum::<f32>());
    for (&a, &b) in a[tail..].iter().zip(&b[tail..]) {
        p += f(a, b);
        q += g(a, b);
    }
    (p, q)
}

/// The forward pass: `[(x - mean) / sqrt(var + epsilon) * gamma + beta, mean, invstd]` with
/// the batch mean and biased variance per channel, `invstd = 1 / sqrt(var + epsilon)`.
pub fn forward(x: &[f32], dims: Dims, gamma: &[f32], beta: &[f32], epsilon: f64) -> [Vec<f32>; 3] {
    let count = dims.count();
    let (mean, invstd): (Vec<f32>, Vec<f32>) = dims
        .channel_sums(x, x, |v, _| v, |v, _| v * v)
        .into_iter()
        .map(|(sum, squares)| {
            let mean = sum / count;
            // Rounding can take the variance just below zero.
            let var = (squares / count - mean * mean).max(0.0);
            (mean as f32, (1.0 / (var + epsilon).sqrt()) as f32)
        })
        .unzip();
    // y = x * scale + shift per channel.
    let coefficients: Vec<[f32; 3]> = (0..dims.channels)
        .map(|c| {
            let scale = gamma[c] * invstd[c];
            [scale, 0.0, beta[c] - mean[c] * scale]
        })
        .collect();
    let y = dims.combine_planes(x, x, &coefficients);
    [y, mean, invstd]
}

/// The backward pass of [forward]: the gradients of `x`, `gamma` and `beta`.
pub fn backward(
    output_grad: &[f32],
    x: &[f32],
    dims: Dims,
    gamma: &[f32],
    mean: &[f32],
    invstd: &[f32],
) -> [Vec<f32>; 3] {
    let count = dims.count();
    let sums = dims.channel_sums(output_grad, x, |dy, _| dy, |dy, v| dy * v);
    let beta_grad: Vec<f32> = sums.iter().map(|&(dy, _)| dy as f32).collect();
    let gamma_grad: Vec<f32> = sums
        .iter()
        .enumerate()
        .map(|(c, &(dy, dy_x))| (f64::from(invstd[c]) * (dy_x - f64::from(mean[c]) * dy)) as f32)
        .collect();
    // dx = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M), xhat = (x - mean) * invstd,
    // as dx = a * dy + b * x + k per channel.
    let coefficients: Vec<[f32; 3]> = (0..dims.channels)
        .map(|c| {
            let (g, s, m) = (
                f64::from(gamma[c]),
                f64::from(invstd[c]),
                f64::from(mean[c]),
            );
            let a = g * s;
            let b = -g * s * s * f64::from(gamma_grad[c]) / count;
            let k = -a * f64::from(beta_grad[c]) / count - b * m;
            [a as f32, b as f32, k as f32]
        })
        .collect();
    let x_grad = dims.combine_planes(output_grad, x, &coefficients);
    [x_grad, gamma_grad, beta_grad]
}
