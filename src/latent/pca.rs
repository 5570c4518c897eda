//! Principal components of many long vectors (10,000 codes of 12,544 numbers), without the
//! `d x d` covariance: subspace iteration on the centred data (`Q <- orth(Xᵀ X Q)`), then
//! the exact eigenvectors within the subspace found. Deterministic: the start is drawn from
//! a fixed seed and every product runs on one thread in a fixed order, so the same codes
//! give the same components, byte for byte, on any load.

/// Extra directions iterated beyond those asked for: the subspace converges faster.
const OVERSAMPLING: usize = 10;
/// Rounds of `Xᵀ X Q`; each one shrinks the error by the ratio of eigenvalues k+10 to k.
const ROUNDS: usize = 12;

/// The data projected onto its first components, and how much each explains.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// One per vector projected.
    pub rows: usize,
    /// `rows x components`, row-major.
    pub coordinates: Vec<f32>,
    pub components: usize,
    /// Each component's share of the total variance, largest first.
    pub explained: Vec<f64>,
}

impl Projection {
    pub fn row(&self, index: usize) -> &[f32] {
        &self.coordinates[index * self.components..(index + 1) * self.components]
    }
}

/// The first `components` principal components of `rows` vectors of length `columns`
/// (row-major `data`, centred in place), at most `min(rows, columns)`. Each component's
/// sign makes its largest coordinate positive, as scikit-learn's `svd_flip` does.
pub fn project(data: &mut [f32], rows: usize, columns: usize, components: usize) -> Projection {
    assert_eq!(data.len(), rows * columns);
    centre(data, rows, columns);
    let components = components.min(rows).min(columns);
    let width = (components + OVERSAMPLING).min(rows).min(columns);
    let mut basis = orthonormal(&start(columns, width), columns, width);
    for _ in 0..ROUNDS {
        let scores = times(data, rows, columns, &basis, width);
        basis = orthonormal(
            &transposed_times(data, rows, columns, &scores, width),
            columns,
            width,
        );
    }
    // Within the subspace: the eigenvectors of (XQ)ᵀ(XQ) rotate Q onto the components.
    let scores = times(data, rows, columns, &basis, width);
    let gram = gram(&scores, rows, width);
    let (values, vectors) = symmetric_eigen(gram, width);
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order.truncate(components);

    let total: f64 = data.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    let mut coordinates = vec![0f32; rows * components];
    let mut explained = Vec::with_capacity(components);
    for (c, &e) in order.iter().enumerate() {
        let column: Vec<f64> = (0..rows)
            .map(|r| {
                (0..width)
                    .map(|j| f64::from(scores[r * width + j]) * vectors[j * width + e])
                    .sum()
            })
            .collect();
        let largest = column
            .iter()
            .copied()
            .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        let sign = if largest < 0.0 { -1.0 } else { 1.0 };
        for (r, value) in column.iter().enumerate() {
            coordinates[r * components + c] = (sign * value) as f32;
        }
        explained.push(if total > 0.0 { values[e] / total } else { 0.0 });
    }
    Projection {
        rows,
        coordinates,
        components,
        explained,
    }
}

fn centre(data: &mut [f32], rows: usize, columns: usize) {
    let mut mean = vec![0f64; columns];
    for row in data.chunks_exact(columns) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    for row in data.chunks_exact_mut(columns) {
        for (v, m) in row.iter_mut().zip(&mean) {
            *v = (f64::from(*v) - m / rows as f64) as f32;
        }
    }
}

/// A fixed pseudo-random `columns x width` start (splitmix64, uniform in [-1, 1)).
fn start(columns: usize, width: usize) -> Vec<f64> {
    let mut state = 0x5eed_1a7e_u64;
    (0..columns * width)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// The columns of `matrix` (`rows x width`, row-major) made orthonormal, in order
/// (modified Gram-Schmidt, twice for accuracy), as f32.
fn orthonormal(matrix: &[f64], rows: usize, width: usize) -> Vec<f32> {
    let mut columns: Vec<Vec<f64>> = (0..width)
        .map(|j| (0..rows).map(|i| matrix[i * width + j]).collect())
        .collect();
    for j in 0..width {
        for _ in 0..2 {
            for i in 0..j {
                let (done, rest) = columns.split_at_mut(j);
                let dot: f64 = done[i].iter().zip(&rest[0]).map(|(a, b)| a * b).sum();
                for (v, u) in rest[0].iter_mut().zip(&done[i]) {
                    *v -= dot * u;
                }
            }
        }
        let norm = columns[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        columns[j].iter_mut().for_each(|v| *v *= scale);
    }
    let mut out = vec![0f32; rows * width];
    for (j, column) in columns.iter().enumerate() {
        for (i, &v) in column.iter().enumerate() {
            out[i * width + j] = v as f32;
        }
    }
    out
}

/// `X Q`: `rows x columns` times `columns x width`.
fn times(x: &[f32], rows: usize, columns: usize, q: &[f32], width: usize) -> Vec<f32> {
    let row_major = Matrix {
        values: x,
        rows,
        row_stride: columns,
        column_stride: 1,
    };
    product(row_major, columns, q, width)
}

/// `Xᵀ Z`: the transpose of `rows x columns` times `rows x width`, in f64.
fn transposed_times(x: &[f32], rows: usize, columns: usize, z: &[f32], width: usize) -> Vec<f64> {
    // Xᵀ is X read with its strides swapped.
    let transposed = Matrix {
        values: x,
        rows: columns,
        row_stride: 1,
        column_stride: columns,
    };
    let out = product(transposed, rows, z, width);
    out.into_iter().map(f64::from).collect()
}

/// A matrix read in place, with its own strides.
struct Matrix<'a> {
    values: &'a [f32],
    rows: usize,
    row_stride: usize,
    column_stride: usize,
}

/// `lhs` (`lhs.rows x depth`) times the row-major `depth x width` `rhs`, on this thread
/// alone (gemm on more threads splits the sums differently from run to run).
fn product(lhs: Matrix, depth: usize, rhs: &[f32], width: usize) -> Vec<f32> {
    // Both layouts are dense: `lhs` holds exactly `rows x depth` values.
    assert!(lhs.values.len() == lhs.rows * depth && rhs.len() == depth * width);
    let mut out = vec![0f32; lhs.rows * width];
    // SAFETY: with the sizes asserted, the strides keep every read inside `lhs` and `rhs`;
    // `out` is its own buffer of `lhs.rows x width`.
    unsafe {
        gemm::gemm(
            lhs.rows,
            width,
            depth,
            out.as_mut_ptr(),
            1,
            width as isize,
            false,
            lhs.values.as_ptr(),
            lhs.column_stride as isize,
            lhs.row_stride as isize,
            rhs.as_ptr(),
            1,
            width as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    out
}

/// `Zᵀ Z` of `rows x width`, in f64.
fn gram(z: &[f32], rows: usize, width: usize) -> Vec<f64> {
    let mut out = vec![0f64; width * width];
    for r in 0..rows {
        let row = &z[r * width..(r + 1) * width];
        for i in 0..width {
            for j in 0..width {
                out[i * width + j] += f64::from(row[i]) * f64::from(row[j]);
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (as the columns of a row-major `n x n`) of a symmetric
/// matrix, by cyclic Jacobi rotations.
fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200 points in 30 dimensions, spread 10, 5, 2 along three orthogonal directions,
    /// plus small noise: the first two components are those directions, explaining their
    /// shares of the variance.
    fn points() -> (Vec<f32>, Vec<[f64; 3]>, usize, usize) {
        let (rows, columns) = (200, 30);
        let noise = start(rows, columns);
        let mut data = vec![0f32; rows * columns];
        let mut latent = Vec::new();
        for r in 0..rows {
            let t = [
                10.0 * ((r * 37 % 101) as f64 / 50.0 - 1.0),
                5.0 * ((r * 53 % 89) as f64 / 44.0 - 1.0),
                2.0 * ((r * 71 % 97) as f64 / 48.0 - 1.0),
            ];
            for c in 0..columns {
                // Three orthogonal directions: columns 0-9, 10-19, 20-29, each 1/sqrt(10).
                let along = t[c / 10] / 10f64.sqrt();
                data[r * columns + c] = (along + 0.01 * noise[r * columns + c]) as f32;
            }
            latent.push(t);
        }
        (data, latent, rows, columns)
    }

    #[test]
    fn the_components_are_the_exact_eigenvectors_of_the_covariance() {
        let (data, _, rows, columns) = points();
        let projection = project(&mut data.clone(), rows, columns, 3);
        assert_eq!(projection.components, 3);
        // The whole 30 x 30 scatter matrix, eigendecomposed directly.
        let mut centred = data.clone();
        centre(&mut centred, rows, columns);
        let mut scatter = vec![0f64; columns * columns];
        for row in centred.chunks_exact(columns) {
            for i in 0..columns {
                for j in 0..columns {
                    scatter[i * columns + j] += f64::from(row[i]) * f64::from(row[j]);
                }
            }
        }
        let total: f64 = (0..columns).map(|i| scatter[i * columns + i]).sum();
        let (values, vectors) = symmetric_eigen(scatter, columns);
        let mut order: Vec<usize> = (0..columns).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        for (c, &e) in order.iter().take(3).enumerate() {
            assert!(
                (projection.explained[c] - values[e] / total).abs() < 1e-6,
                "{c}"
            );
            let exact: Vec<f64> = centred
                .chunks_exact(columns)
                .map(|row| {
                    (0..columns)
                        .map(|i| f64::from(row[i]) * vectors[i * columns + e])
                        .sum()
                })
                .collect();
            // The same up to sign, which svd_flip fixes.
            let sign = if exact
                .iter()
                .fold(0.0f64, |m, &v| if v.abs() > m.abs() { v } else { m })
                < 0.0
            {
                -1.0
            } else {
                1.0
            };
            for (r, value) in exact.iter().enumerate() {
                let ours = f64::from(projection.row(r)[c]);
                assert!(
                    (ours - sign * value).abs() < 1e-3,
                    "component {c}, row {r}: {ours} {value}"
                );
            }
        }
        // The three spreads built in (10, 5, 2) explain nearly everything.
        assert!(projection.explained.iter().sum::<f64>() > 0.99);
    }

    #[test]
    fn the_same_data_gives_the_same_bytes() {
        let (data, _, rows, columns) = points();
        let a = project(&mut data.clone(), rows, columns, 5);
        let b = project(&mut data.clone(), rows, columns, 5);
        assert_eq!(a, b);
        assert!(a.coordinates.iter().all(|v| v.is_finite()));
    }
}
