//! How much a learnt non-linear mechanism may be wrong where it has seen no data.
//!
//! An additive-noise model abducts `u_i = x_i − f̂_i(pa_i)`. Inside the training data `f̂_i` is
//! checked by held-out error; far outside it nothing constrains it: a squared or saturating
//! mechanism asked about a parent shifted 10 sd away can be off by more than any noise, and the
//! child then looks like a root cause although its noise is normal (it is its parent that is
//! off). So for every non-linear regressor we keep the box `[lo, hi]` its encoded parents
//! spanned in training, the largest slope `L` of `f̂_i` seen there (the gradient norm by
//! central differences on up to [`SLOPE_ROWS`] training rows, standardised output per encoded
//! input unit) and its largest curvature `K` (the second difference along each input over half
//! a unit, so a ReLU network's kinks average out to the curvature of the function it fits).
//! For a row whose parents lie a distance `d` outside the box, a mechanism that leaves the box
//! with a slope within `L` and keeps a curvature within `K` moves at most `L·d + K·d²/2` from
//! its value at the box (Taylor), and so does the fit: the two differ by at most
//! `2·L·d + K·d²`. That is the row's **slack**, in the node's own units after multiplying by
//! its training sd. A squared mechanism has constant curvature, so the bound holds for it
//! however far out; with the slope term alone a square of a square 30 sd out was not covered. The root-cause p-value of the node is
//! then taken at the least unusual noise within the slack (see `remedy_app`), so a child is not
//! blamed for its parent's extrapolation. Linear mechanisms (chosen by held-out error) get no
//! slack: a plane extrapolates as fitted. A mechanism steeper than anything seen in training
//! (an exponential far out) can still exceed the slack; the bound is honest only for slopes
//! and curvatures within the data's.

use serde::{Deserialize, Serialize};

/// Training rows on which the slope is measured.
pub const SLOPE_ROWS: usize = 500;
/// Finite-difference step of the slope, in encoded (standardised) input units.
const STEP: f64 = 0.05;
/// Finite-difference step of the curvature (module docs).
const CURVE_STEP: f64 = 0.5;

/// The training box of a node's encoded parents and its regressor's largest slope there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extrapolation {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// Largest gradient norm of the regressor in the training data (standardised output per
    /// encoded input unit).
    pub slope: f64,
    /// Largest second difference along one input in the training data (per unit²); models
    /// saved before it read 0.
    #[serde(default)]
    pub curvature: f64,
}

impl Extrapolation {
    /// Fits the box on `x` (`n` rows of `d` encoded parent values) and the slope of `f` (a
    /// batch regressor on rows laid out the same way) on up to [`SLOPE_ROWS`] evenly spaced
    /// rows.
    pub fn fit(x: &[f32], n: usize, d: usize, f: impl Fn(&[f32], usize) -> Vec<f64>) -> Self {
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for r in 0..n {
            for k in 0..d {
                let v = f64::from(x[r * d + k]);
                lo[k] = lo[k].min(v);
                hi[k] = hi[k].max(v);
            }
        }
        let picked: Vec<usize> = if n <= SLOPE_ROWS {
            (0..n).collect()
        } else {
            (0..SLOPE_ROWS).map(|i| i * n / SLOPE_ROWS).collect()
        };
        // Per row: the row, then ± STEP and ± CURVE_STEP along each input, in one batch.
        let per_row = 1 + 4 * d;
        let mut probe = Vec::with_capacity(picked.len() * per_row * d);
        for &r in &picked {
            probe.extend_from_slice(&x[r * d..(r + 1) * d]);
            for k in 0..d {
                for step in [STEP, -STEP, CURVE_STEP, -CURVE_STEP] {
                    let mut row = x[r * d..(r + 1) * d].to_vec();
                    row[k] += step as f32;
                    probe.extend(row);
                }
            }
        }
        let out = f(&probe, picked.len() * per_row);
        let (mut slope, mut curvature) = (0.0f64, 0.0f64);
        for p in 0..picked.len() {
            let base = p * per_row;
            let mut g2 = 0.0;
            for k in 0..d {
                let at = base + 1 + 4 * k;
                g2 += ((out[at] - out[at + 1]) / (2.0 * STEP)).powi(2);
                let second = (out[at + 2] - 2.0 * out[base] + out[at + 3]) / CURVE_STEP.powi(2);
                curvature = curvature.max(second.abs());
            }
            slope = slope.max(g2.sqrt());
        }
        Extrapolation {
            lo,
            hi,
            slope,
            curvature,
        }
    }

    /// Euclidean distance of encoded parents `x` from the training box.
    pub fn distance(&self, x: &[f32]) -> f64 {
        x.iter()
            .zip(self.lo.iter().zip(&self.hi))
            .map(|(v, (lo, hi))| {
                let v = f64::from(*v);
                (lo - v).max(v - hi).max(0.0).powi(2)
            })
            .sum::<f64>()
            .sqrt()
    }

    /// Whether `x` moves an input that never varied in training (`lo == hi`): the regressor
    /// never saw how its output responds to that input, so no slope bounds the change and the
    /// slack is unbounded. A service whose callee was always up learnt nothing about what the
    /// callee's failure does to it; when both fail, the caller's failure is explained.
    pub fn moves_a_constant(&self, x: &[f32]) -> bool {
        x.iter()
            .zip(self.lo.iter().zip(&self.hi))
            .any(|(v, (lo, hi))| lo == hi && f64::from(*v) != *lo)
    }

    /// The slack `2·L·d + K·d²` (standardised output units) of encoded parents `x`.
    pub fn slack(&self, x: &[f32]) -> f64 {
        let d = self.distance(x);
        2.0 * self.slope * d + self.curvature * d * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_and_slack_of_a_known_function() {
        // f(a, b) = 3a − 4b on the unit square: gradient norm 5 everywhere.
        let pts: Vec<f32> = (0..11)
            .flat_map(|i| (0..11).flat_map(move |j| [i as f32 / 10.0, j as f32 / 10.0]))
            .collect();
        let f = |x: &[f32], n: usize| -> Vec<f64> {
            (0..n)
                .map(|r| 3.0 * f64::from(x[2 * r]) - 4.0 * f64::from(x[2 * r + 1]))
                .collect()
        };
        let e = Extrapolation::fit(&pts, 121, 2, f);
        assert!((e.slope - 5.0).abs() < 1e-4, "{e:?}");
        assert!(e.curvature < 1e-6, "a plane has none: {e:?}");
        assert_eq!(
            (e.lo.clone(), e.hi.clone()),
            (vec![0.0, 0.0], vec![1.0, 1.0])
        );
        assert_eq!(e.slack(&[0.5, 0.5]), 0.0);
        // (4, −3): 3 beyond hi in a, 3 below lo in b → d = 3√2, slack 2·5·3√2.
        let s = e.slack(&[4.0, -3.0]);
        assert!((s - 30.0 * 2f64.sqrt()).abs() < 1e-4, "{s}");
    }

    #[test]
    fn a_square_is_covered_however_far_out() {
        // f(a) = a² on [−2, 2]: slope 4 at the edge, curvature 2. At a = 12 (d = 10) a fit that
        // went on linearly from the edge (4 + 4·10 = 44) is 144 − 44 = 100 off; the slack
        // 2·4·10 + 2·100 = 280 covers it, the slope term alone (80) would not.
        let pts: Vec<f32> = (0..=40).map(|i| -2.0 + i as f32 * 0.1).collect();
        let f =
            |x: &[f32], n: usize| -> Vec<f64> { (0..n).map(|r| f64::from(x[r]).powi(2)).collect() };
        let e = Extrapolation::fit(&pts, 41, 1, f);
        assert!((e.curvature - 2.0).abs() < 1e-3, "{e:?}");
        assert!((e.slope - 4.0).abs() < 0.01, "{e:?}");
        let s = e.slack(&[12.0]);
        assert!(s >= 100.0 && (s - 280.0).abs() < 1.0, "{s}");
    }

    #[test]
    fn an_input_constant_in_training_is_flagged_when_it_moves() {
        // b never varied: moving it leaves a box of zero width in that direction.
        let pts: Vec<f32> = (0..10).flat_map(|i| [i as f32, 2.0]).collect();
        let f = |x: &[f32], n: usize| -> Vec<f64> { (0..n).map(|r| f64::from(x[2 * r])).collect() };
        let e = Extrapolation::fit(&pts, 10, 2, f);
        assert!(
            !e.moves_a_constant(&[20.0, 2.0]),
            "a far but varying input is not"
        );
        assert!(e.moves_a_constant(&[3.0, 2.5]));
    }
}
