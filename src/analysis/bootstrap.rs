//! Percentile bootstrap of means on plain slices.

use super::rng::Xoshiro256;

pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// `replicates` means of resamples (with replacement, same size) of `values`, which must not
/// be empty. Callers pass the values in a canonical order (sorted), so the resamples depend on
/// the seed and the data only, not on the order rows came in.
pub(crate) fn resample_means(values: &[f64], replicates: usize, rng: &mut Xoshiro256) -> Vec<f64> {
    let n = values.len();
    (0..replicates)
        .map(|_| {
            let mut sum = 0.0;
            for _ in 0..n {
                sum += values[rng.below(n)];
            }
            sum / n as f64
        })
        .collect()
}

/// The `q` quantile of sorted data, interpolating linearly between order statistics
/// (Hyndman & Fan type 7, the default of R and NumPy).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The equal-tailed percentile interval at `level` (e.g. 0.95) of bootstrap replicates, which
/// are sorted in place. `None` when there are no replicates.
pub(crate) fn percentile_interval(replicates: &mut [f64], level: f64) -> Option<(f64, f64)> {
    if replicates.is_empty() {
        return None;
    }
    replicates.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some((quantile_sorted(replicates, tail), quantile_sorted(replicates, 1.0 - tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_quantiles() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&x, 0.0), 1.0);
        assert_eq!(quantile_sorted(&x, 1.0), 5.0);
        assert_eq!(quantile_sorted(&x, 0.5), 3.0);
        assert!((quantile_sorted(&x, 0.1) - 1.4).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);
    }

    #[test]
    fn interval_of_a_constant_is_the_constant() {
        let mut rng = Xoshiro256::seed_from_u64(1);
        let mut reps = resample_means(&[0.4; 5], 100, &mut rng);
        assert_eq!(percentile_interval(&mut reps, 0.95), Some((0.4, 0.4)));
        assert_eq!(percentile_interval(&mut [], 0.95), None);
    }

    #[test]
    fn interval_width_matches_standard_error() {
        // 400 points with sd ~0.29: the 95% interval of the mean is about ±1.96 * 0.0144.
        let values: Vec<f64> = (0..400).map(|i| (i as f64 + 0.5) / 400.0).collect();
        let mut rng = Xoshiro256::seed_from_u64(2);
        let mut reps = resample_means(&values, 2000, &mut rng);
        let (lo, hi) = percentile_interval(&mut reps, 0.95).unwrap();
        let half = (hi - lo) / 2.0;
        assert!((half - 1.96 * (1.0 / 12.0f64).sqrt() / 20.0).abs() < 0.004, "{lo} {hi}");
        assert!(lo < 0.5 && hi > 0.5);
    }
}
