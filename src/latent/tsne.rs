//! t-SNE of the codes' leading principal components (Barnes-Hut, the `bhtsne` crate), the
//! same map every run: the neighbours are found here, exactly, in a fixed order (bhtsne's
//! own search draws its vantage points from an unseeded random generator), the start is
//! the first two components scaled small (as scikit-learn's `init="pca"`), and bhtsne runs
//! on a pool of one thread, so its parallel sums add up in one order.

use bhtsne::{Neighbor, tSNE};

use super::pca::Projection;

/// scikit-learn's defaults: perplexity 30, 1,000 iterations, Barnes-Hut angle 0.5.
const PERPLEXITY: usize = 30;
const EPOCHS: usize = 1000;
const THETA: f32 = 0.5;
/// Fewer images than this have no neighbourhoods to keep.
pub const MIN_IMAGES: usize = 4;

/// Each row of `projection` placed in 2-D; `None` for fewer than [`MIN_IMAGES`] rows.
pub fn embed(projection: &Projection) -> Option<Vec<(f32, f32)>> {
    let rows = projection.rows;
    if rows < MIN_IMAGES {
        return None;
    }
    // bhtsne needs 3 x perplexity neighbours of each point.
    let perplexity = PERPLEXITY.min((rows - 1) / 3);
    let neighbours = nearest(projection, rows, 3 * perplexity);
    let samples: Vec<&[f32]> = (0..rows).map(|i| projection.row(i)).collect();
    let spread = (0..rows)
        .map(|i| f64::from(projection.row(i)[0]).powi(2))
        .sum::<f64>()
        .sqrt()
        / (rows as f64).sqrt();
    let scale = if spread > 0.0 { 1e-4 / spread } else { 1.0 };
    let start: Vec<f32> = (0..rows)
        .flat_map(|i| {
            let row = projection.row(i);
            [row[0], row.get(1).copied().unwrap_or(0.0)].map(|v| (f64::from(v) * scale) as f32)
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool starts");
    let embedding = pool.install(|| {
        tSNE::<f32, &[f32], 2>::new(&samples)
            .perplexity(perplexity as f32)
            .epochs(EPOCHS)
            .initial_embedding(start)
            .barnes_hut_with_neighbors(THETA, &neighbours)
            .embedding()
    });
    Some(embedding.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// Each row's `k` nearest other rows by Euclidean distance, nearest first, ties by index.
fn nearest(projection: &Projection, rows: usize, k: usize) -> Vec<Vec<Neighbor<f32>>> {
    (0..rows)
        .map(|i| {
            let me = projection.row(i);
            let mut all: Vec<(f32, usize)> = (0..rows)
                .filter(|&j| j != i)
                .map(|j| {
                    let distance = me
                        .iter()
                        .zip(projection.row(j))
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f32>()
                        .sqrt();
                    (distance, j)
                })
                .collect();
            let order =
                |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if k < all.len() {
                all.select_nth_unstable_by(k, order);
                all.truncate(k);
            }
            all.sort_by(order);
            all.into_iter()
                .map(|(distance, index)| Neighbor { index, distance })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tight groups of 20 points far apart in 5-D stay apart in the map.
    #[test]
    fn groups_stay_apart_and_the_map_is_the_same_every_time() {
        let rows = 40;
        let coordinates: Vec<f32> = (0..rows * 5)
            .map(|i| {
                let (row, column) = (i / 5, i % 5);
                let group = if row < 20 { 0.0 } else { 10.0 };
                group + ((row * 7 + column * 3) % 11) as f32 * 0.01
            })
            .collect();
        let projection = Projection {
            rows,
            coordinates,
            components: 5,
            explained: vec![0.2; 5],
        };
        let map = embed(&projection).unwrap();
        assert_eq!(map, embed(&projection).unwrap());
        let centre = |range: std::ops::Range<usize>| {
            let n = range.len() as f32;
            let (x, y) = map[range]
                .iter()
                .fold((0.0, 0.0), |(x, y), p| (x + p.0, y + p.1));
            (x / n, y / n)
        };
        let (a, b) = (centre(0..20), centre(20..40));
        let apart = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let within = map[..20]
            .iter()
            .map(|p| ((p.0 - a.0).powi(2) + (p.1 - a.1).powi(2)).sqrt())
            .fold(0.0f32, f32::max);
        assert!(apart > 2.0 * within, "apart {apart}, within {within}");
        assert!(
            embed(&Projection {
                rows: 3,
                coordinates: vec![0.0; 3],
                components: 1,
                explained: vec![0.0]
            })
            .is_none()
        );
    }
}
