//! Order statistics: percentiles of latency samples, median and spread of repetitions.

/// The `p`-th percentile (0–100) of `sorted` by nearest rank; 0 for no samples.
pub fn percentile_sorted<T: Copy + Into<f64>>(sorted: &[T], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].into()
}

/// Sort `samples` in place and return (p50, p99).
pub fn p50_p99(samples: &mut [u32]) -> (f64, f64) {
    samples.sort_unstable();
    (
        percentile_sorted(samples, 50.0),
        percentile_sorted(samples, 99.0),
    )
}

/// Median of `values` (mean of the middle two for an even count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Spread of repetitions: (max − min) / 2 relative to the median, in percent (0 for one sample).
pub fn spread_pct(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return 0.0;
    }
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        });
    let m = median(&v);
    if m == 0.0 {
        return if hi == lo { 0.0 } else { f64::INFINITY };
    }
    (hi - lo) / 2.0 / m.abs() * 100.0
}

/// Least-squares slope of `points` (x, y); 0 for fewer than two distinct x.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    if sxx == 0.0 {
        return 0.0;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut s: Vec<u32> = (1..=100).collect();
        assert_eq!(p50_p99(&mut s), (50.0, 99.0));
        assert_eq!(percentile_sorted::<u32>(&[], 50.0), 0.0);
        assert_eq!(percentile_sorted(&[7u32], 99.0), 7.0);
    }

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(spread_pct(&[10.0]), 0.0);
        assert!((spread_pct(&[9.0, 10.0, 11.0]) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn slope_of_a_line_and_of_noise() {
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 2.0)).collect();
        assert!((slope(&line) - 3.0).abs() < 1e-9);
        let flat = [(0.0, 5.0), (1.0, 6.0), (2.0, 5.0), (3.0, 6.0), (4.0, 5.0)];
        assert!(slope(&flat).abs() < 0.11);
        assert_eq!(slope(&[(1.0, 1.0)]), 0.0);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 9.0)]), 0.0);
    }
}
