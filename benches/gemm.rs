//! f32 matrix products of the shapes flex's batched convolutions hand to gemm for the
//! default model (one chunk of images, one thread), so a CPU's GEMM speed can be checked on
//! its own: gemm picks its AVX-512 kernels at run time where the CPU has them (aelab turns on
//! its `x86-v4` feature) and its AVX2 ones elsewhere. Criterion reports elements per second:
//! read them as FLOP/s.
//!
//! `cargo bench --bench gemm`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// (name, m, n, k, whether B is read transposed): the forward product `W[O, C*9] .
/// cols[C*9, n*P]` of the 7x7 and 14x14 layers, and the weight gradient `dY[O, n*P] .
/// cols[C*9, n*P]^T` of the largest one.
const SHAPES: [(&str, usize, usize, usize, bool); 4] = [
    ("forward_256x2304_to_256x784", 256, 784, 2304, false),
    ("forward_64x576_to_32x980", 32, 980, 576, false),
    ("forward_128x1152_to_128x784", 128, 784, 1152, false),
    ("weight_grad_256x784_by_2304x784t", 256, 2304, 784, true),
];

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm_f32_one_thread");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for (name, m, n, k, transposed) in SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut out = vec![0f32; m * n];
        // B element (row r, column j): row-major [k, n], or the transpose of a [n, k] matrix.
        let (b_rs, b_cs) = if transposed {
            (1, k as isize)
        } else {
            (n as isize, 1)
        };
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        group.bench_function(name, |bench| {
            bench.iter(|| {
                // SAFETY: out is [m, n], a is [m, k], b holds k * n values read with the
                // strides above; all row-major and sized here.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        out.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        a.as_ptr(),
                        1,
                        k as isize,
                        b.as_ptr(),
                        b_cs,
                        b_rs,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            })
        });
    }
    group.finish();
}

criterion_group!(gemm_benches, benches);
criterion_main!(gemm_benches);
