//! Thresholds from training scores.

/// The `q`-quantile of `values` with linear interpolation between order statistics (numpy's
/// default `np.quantile`, which the reference uses for τ; RootCLAM spec §4.1). NaN for no values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values checked against numpy: np.quantile([1, 2, 3, 4], 0.995) = 3.985,
    /// np.quantile([5, 1, 3], 0.5) = 3.0, np.quantile([0, 10], 0.25) = 2.5.
    #[test]
    fn matches_numpy_linear_interpolation() {
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0], 0.995) - 3.985).abs() < 1e-12);
        assert_eq!(quantile(&[5.0, 1.0, 3.0], 0.5), 3.0);
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
