//! Plausibility of a whole counterfactual row: does it lie where normal rows actually are? The
//! statistic is the distance from the row to its k-th nearest normal reference row (features
//! in training sds; a binary or categorical mismatch counts one sd), judged against the same
//! distance of held-out normal rows: the plausibility is the share of held-out normal rows
//! that lie at least as far out (an empirical p-value, `(1 + #{d_i ≥ d}) / (n + 1)`).
//!
//! Why the data's support and not the detector's score: a detector trained on normal rows (an
//! autoencoder's reconstruction error, Deep SVDD's distance) calls many rows normal that lie
//! between or beyond the normal rows, where the real outcome has not recovered. On generated
//! Loan rows (seed 11) the counterfactuals whose true label recovered had a median 5-NN distance
//! of 0.65 sd, the others 1.12-1.66 sd, held-out normal rows 0.71 (docs/RESULTS.md). The
//! k-nearest-neighbour view of plausibility is the one recourse evaluations use (CARLA's yNN,
//! FACE's density paths).

mod scan;

use std::sync::OnceLock;

use rand::Rng;
use rand::seq::index::sample;
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Neighbours whose distance is taken (CARLA's yNN uses 5).
pub const DEFAULT_K: usize = 5;
/// Most normal rows kept as the reference (a seeded sample of the training rows): bounds the
/// model file and the cost of one distance.
pub const MAX_REFERENCE: usize = 1024;

/// The normal reference rows and the calibration of their neighbour distance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NormalSupport {
    /// Neighbour rank k.
    pub k: usize,
    /// Per feature: its unit (training sd) for a continuous feature, `None` for a binary or
    /// categorical one (a mismatch counts 1).
    pub unit: Vec<Option<f64>>,
    /// The reference rows, in original units.
    pub rows: Vec<Vec<f64>>,
    /// Held-out normal rows' distances to the reference, ascending.
    pub calibration: Vec<f64>,
    /// The reference rows laid out for [`NormalSupport::distance`], built on first use.
    #[serde(skip)]
    layout: OnceLock<Layout>,
}

/// The reference rows laid out for the scan ([`scan::Columns`]), with the features that are
/// continuous and discrete.
#[derive(Debug, Clone)]
struct Layout {
    continuous: Vec<usize>,
    discrete: Vec<usize>,
    all: scan::Columns,
}

/// Equal when the saved fields are (the layout is derived from them).
impl PartialEq for NormalSupport {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k
            && self.unit == other.unit
            && self.rows == other.rows
            && self.calibration == other.calibration
    }
}

impl NormalSupport {
    /// Keeps at most [`MAX_REFERENCE`] of `train` (a sample drawn with `rng`) and calibrates
    /// on `held_out`, which must not share rows with the reference. `unit` as the field.
    pub fn fit<R: Rng + ?Sized>(
        train: &[Vec<f64>],
        held_out: &[Vec<f64>],
        unit: Vec<Option<f64>>,
        k: usize,
        rng: &mut R,
    ) -> Result<Self> {
        if k == 0 || train.len() < k {
            return Err(Error::invalid(format!(
                "the normal support needs at least k = {k} reference rows, got {}",
                train.len()
            )));
        }
        if held_out.is_empty() {
            return Err(Error::invalid("the normal support needs held-out rows"));
        }
        let width = unit.len();
        if let Some(r) = train.iter().chain(held_out).find(|r| r.len() != width) {
            return Err(Error::invalid(format!(
                "a row of {} values for {width} features",
                r.len()
            )));
        }
        let unit = unit
            .into_iter()
            .map(|u| u.map(|s| if s.is_finite() && s > 0.0 { s } else { 1.0 }))
            .collect();
        let rows: Vec<Vec<f64>> = if train.len() > MAX_REFERENCE {
            let mut idx = sample(rng, train.len(), MAX_REFERENCE).into_vec();
            idx.sort_unstable();
            idx.into_iter().map(|i| train[i].clone()).collect()
        } else {
            train.to_vec()
        };
        let mut support = NormalSupport {
            k,
            unit,
            rows,
            calibration: Vec::new(),
            layout: OnceLock::new(),
        };
        let mut cal = support.distances(held_out);
        cal.sort_by(f64::total_cmp);
        support.calibration = cal;
        Ok(support)
    }

    /// Distance of each row to its k-th nearest reference row.
    pub fn distances(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        xs.iter().map(|x| self.distance(x)).collect()
    }

    /// Distance of `x` to its k-th nearest reference row (∞ for a row with a non-finite
    /// value).
    pub fn distance(&self, x: &[f64]) -> f64 {
        self.kth_neighbour(x)
            .map_or(f64::INFINITY, |(_, d2)| d2.sqrt())
    }

    /// The index (into [`NormalSupport::rows`]) of `x`'s k-th nearest reference row and its
    /// squared distance; `None` for a row with a non-finite value. A tie keeps the earlier row.
    pub fn kth_neighbour(&self, x: &[f64]) -> Option<(usize, f64)> {
        self.kth_within(x, None)
    }

    /// How far `x` lies beyond `radius` from the normal rows, relative to it: `max(d − r, 0)/r`
    /// with d its [`NormalSupport::distance`] (∞ for a row with a non-finite value). The scan
    /// stops as soon as k reference rows lie within the radius (the answer is then 0, as the
    /// full scan's), so rows that meet it cost less.
    pub fn shortfall(&self, x: &[f64], radius: f64) -> f64 {
        self.shortfalls(std::slice::from_ref(&x.to_vec()), radius)[0]
    }

    /// [`NormalSupport::shortfall`] of each row, the same values, faster when the rows lie
    /// close together (a search's candidate actions for one row): the reference rows that
    /// cannot be among any of their k nearest are set aside first ([`scan::Columns::near`]).
    pub fn shortfalls(&self, xs: &[Vec<f64>], radius: f64) -> Vec<f64> {
        let l = self.layout();
        let queries: Vec<Option<(Vec<f64>, Vec<f64>)>> = xs
            .iter()
            .map(|x| x.iter().all(|v| v.is_finite()).then(|| self.parts(l, x)))
            .collect();
        let finite: Vec<&(Vec<f64>, Vec<f64>)> = queries.iter().flatten().collect();
        let near;
        let cols = if finite.len() > 1 {
            let xcs: Vec<&[f64]> = finite.iter().map(|q| q.0.as_slice()).collect();
            let xds: Vec<&[f64]> = finite.iter().map(|q| q.1.as_slice()).collect();
            near = l.all.near(&xcs, &xds, self.k);
            &near
        } else {
            &l.all
        };
        queries
            .iter()
            .map(|q| {
                let d = q
                    .as_ref()
                    .and_then(|(xc, xd)| cols.kth(xc, xd, self.k, Some(radius)))
                    .map_or(f64::INFINITY, |(_, d2)| d2.sqrt());
                (d - radius).max(0.0) / radius.max(f64::MIN_POSITIVE)
            })
            .collect()
    }

    /// [`NormalSupport::kth_neighbour`], or with `within`, possibly an earlier k-th nearest
    /// of the reference rows scanned so far once its distance is at most `within`.
    fn kth_within(&self, x: &[f64], within: Option<f64>) -> Option<(usize, f64)> {
        if x.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let l = self.layout();
        let (xc, xd) = self.parts(l, x);
        l.all.kth(&xc, &xd, self.k, within)
    }

    /// The reference rows' layout, built on first use.
    fn layout(&self) -> &Layout {
        self.layout.get_or_init(|| self.build_layout())
    }

    /// A row's continuous values in units and its discrete values, in the layout's order.
    fn parts(&self, l: &Layout, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let xc = l
            .continuous
            .iter()
            .map(|&j| x[j] / self.unit[j].unwrap_or(1.0))
            .collect();
        let xd = l.discrete.iter().map(|&j| x[j]).collect();
        (xc, xd)
    }

    fn build_layout(&self) -> Layout {
        let continuous: Vec<usize> = (0..self.unit.len())
            .filter(|&j| self.unit[j].is_some())
            .collect();
        let discrete: Vec<usize> = (0..self.unit.len())
            .filter(|&j| self.unit[j].is_none())
            .collect();
        let scaled = continuous
            .iter()
            .flat_map(|&j| {
                let unit = self.unit[j].unwrap_or(1.0);
                self.rows.iter().map(move |r| r[j] / unit)
            })
            .collect();
        let levels = discrete
            .iter()
            .flat_map(|&j| self.rows.iter().map(move |r| r[j]))
            .collect();
        Layout {
            continuous,
            discrete,
            all: scan::Columns {
                n: self.rows.len(),
                scaled,
                levels,
                index: None,
            },
        }
    }

    /// `(1 + #{held-out distances ≥ d}) / (n + 1)` for the row's distance d.
    pub fn plausibility(&self, x: &[f64]) -> f64 {
        self.plausibility_of(self.distance(x))
    }

    /// The plausibility of a distance.
    pub fn plausibility_of(&self, d: f64) -> f64 {
        let n = self.calibration.len();
        let below = self.calibration.partition_point(|&c| c < d);
        (1 + n - below) as f64 / (n + 1) as f64
    }

    /// The largest distance whose plausibility is at least `p`: rows within it are as close
    /// to the normal rows as a share `p` of held-out normal rows (∞ when any distance
    /// qualifies, 0 when none does).
    pub fn radius(&self, p: f64) -> f64 {
        let n = self.calibration.len();
        // #{c ≥ d} ≥ p(n + 1) − 1 =: m.
        let m = (p * (n + 1) as f64 - 1.0).ceil().max(0.0) as usize;
        if m == 0 {
            f64::INFINITY
        } else if m > n {
            0.0
        } else {
            self.calibration[n - m]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::seed;

    fn grid_support() -> NormalSupport {
        // Reference: the integer points 0..9 on a line (unit sd); held-out: 0.5, 1.5, …, 9.5,
        // so with k = 1 every held-out distance is 0.5.
        let train: Vec<Vec<f64>> = (0..10).map(|i| vec![f64::from(i)]).collect();
        let held: Vec<Vec<f64>> = (0..10).map(|i| vec![f64::from(i) + 0.5]).collect();
        NormalSupport::fit(&train, &held, vec![Some(1.0)], 1, &mut seed::rng(0)).unwrap()
    }

    /// Hand-computed distances: on the integer line with k = 1 a point at 3.25 is 0.25 from 3,
    /// a point at −2 is 2 from 0; with k = 3 the point 3.25 has neighbours 3, 4, 2 (0.25, 0.75,
    /// 1.25).
    #[test]
    fn distance_to_the_kth_neighbour() {
        let s = grid_support();
        assert_eq!(s.calibration, vec![0.5; 10]);
        assert!((s.distance(&[3.25]) - 0.25).abs() < 1e-12);
        assert!((s.distance(&[-2.0]) - 2.0).abs() < 1e-12);
        let mut s3 = s.clone();
        s3.k = 3;
        assert!((s3.distance(&[3.25]) - 1.25).abs() < 1e-12);
        // The third neighbour is the reference row 2, at 1.25² squared.
        assert_eq!(s3.kth_neighbour(&[3.25]), Some((2, 1.5625)));
        assert_eq!(s.distance(&[f64::NAN]), f64::INFINITY);
        assert_eq!(s.kth_neighbour(&[f64::NAN]), None);
    }

    /// (1 + #{c ≥ d}) / (n + 1) with n = 10 held-out distances all 0.5.
    #[test]
    fn plausibility_and_radius() {
        let s = grid_support();
        assert_eq!(s.plausibility(&[3.25]), 1.0); // 0.25 ≤ every c
        assert_eq!(s.plausibility(&[3.5]), 1.0); // ties count as as-far-out
        assert!((s.plausibility(&[-2.0]) - 1.0 / 11.0).abs() < 1e-12);
        assert_eq!(s.radius(0.5), 0.5);
        assert_eq!(s.radius(0.05), f64::INFINITY); // m = ⌈0.55 − 1⌉ = 0
        // Mixed calibration: the radius is the largest distance keeping the p-value.
        let mut m = s.clone();
        m.calibration = (1..=9).map(f64::from).collect();
        // Every distance has plausibility ≥ 1/(n + 1) = 0.1.
        assert_eq!(m.radius(0.1), f64::INFINITY);
        for p in [0.15, 0.3, 0.5, 0.9] {
            let r = m.radius(p);
            assert!(m.plausibility_of(r) >= p, "{p} {r}");
            assert!(m.plausibility_of(r + 1e-9) < p, "{p} {r}");
        }
    }

    /// A categorical mismatch counts one unit; the reference is capped and seeded.
    #[test]
    fn categories_and_reference_cap() {
        let train: Vec<Vec<f64>> = (0..3000).map(|i| vec![f64::from(i % 7), 1.0]).collect();
        let held = vec![vec![0.0, 1.0]];
        let fit = |s| {
            NormalSupport::fit(&train, &held, vec![Some(2.0), None], 5, &mut seed::rng(s)).unwrap()
        };
        let a = fit(1);
        assert_eq!(a.rows.len(), MAX_REFERENCE);
        assert_eq!(a, fit(1));
        assert_eq!(a.distance(&[0.0, 1.0]), 0.0);
        assert!((a.distance(&[0.0, 2.0]) - 1.0).abs() < 1e-12);
        assert!(
            NormalSupport::fit(
                &train[..3],
                &held,
                vec![Some(1.0), None],
                5,
                &mut seed::rng(0)
            )
            .is_err()
        );
    }

    /// The column-at-a-time distances are the row-at-a-time ones bit for bit (each row's sum
    /// adds the same terms in the same order), and the k-th neighbour the same row, on mixed
    /// rows with ties (integer coordinates), in the AVX2 build of the scan and the plain one.
    #[test]
    fn distances_equal_the_row_by_row_sums_bit_for_bit() {
        use rand::Rng;
        let mut rng = seed::rng(7);
        let row = |rng: &mut seed::RemedyRng| -> Vec<f64> {
            vec![
                rng.random_range(-3.0..3.0),
                f64::from(rng.random_range(0..3u8)),
                f64::from(rng.random_range(-2..3i8)),
                f64::from(rng.random_range(0..2u8)),
            ]
        };
        let train: Vec<Vec<f64>> = (0..300).map(|_| row(&mut rng)).collect();
        let held: Vec<Vec<f64>> = (0..20).map(|_| row(&mut rng)).collect();
        let unit = vec![Some(1.7), None, Some(0.9), None];
        let s = NormalSupport::fit(&train, &held, unit.clone(), 4, &mut seed::rng(1)).unwrap();
        // The former row-by-row scan.
        let by_rows = |x: &[f64]| -> (usize, f64) {
            let mut best = vec![(usize::MAX, f64::INFINITY); s.k];
            for (i, r) in s.rows.iter().enumerate() {
                let mut d2: f64 = [0, 2]
                    .iter()
                    .map(|&j| {
                        let u = unit[j].unwrap();
                        (x[j] / u - r[j] / u) * (x[j] / u - r[j] / u)
                    })
                    .sum();
                d2 += [1, 3].iter().filter(|&&j| x[j] != r[j]).count() as f64;
                if d2 < best[s.k - 1].1 {
                    let mut p = s.k - 1;
                    while p > 0 && best[p - 1].1 > d2 {
                        best[p] = best[p - 1];
                        p -= 1;
                    }
                    best[p] = (i, d2);
                }
            }
            best[s.k - 1]
        };
        for _ in 0..200 {
            let x = row(&mut rng);
            let (i, d2) = s.kth_neighbour(&x).unwrap();
            let (wi, wd2) = by_rows(&x);
            assert_eq!((i, d2.to_bits()), (wi, wd2.to_bits()), "{x:?}");
            // The plain build's scan (kth_neighbour takes the AVX2 one where it can).
            let l = s.layout();
            let (xc, xd) = s.parts(l, &x);
            let (pi, pd2) = l.all.scan(&xc, &xd, s.k, None).unwrap();
            assert_eq!((pi, pd2.to_bits()), (wi, wd2.to_bits()), "{x:?}");
        }
    }

    /// The shortfall stops scanning once k rows lie within the radius, and still equals,
    /// bit for bit, the one computed from the full scan's distance, for rows inside and
    /// outside the radius.
    #[test]
    fn shortfall_equals_the_full_distances() {
        use rand::Rng;
        let mut rng = seed::rng(5);
        let mut row = |spread: f64| -> Vec<f64> {
            vec![
                rng.random_range(-spread..spread),
                f64::from(rng.random_range(0..2u8)),
                rng.random_range(-spread..spread),
            ]
        };
        let train: Vec<Vec<f64>> = (0..500).map(|_| row(2.0)).collect();
        let held: Vec<Vec<f64>> = (0..50).map(|_| row(2.0)).collect();
        let s = NormalSupport::fit(
            &train,
            &held,
            vec![Some(1.0), None, Some(0.5)],
            5,
            &mut seed::rng(1),
        )
        .unwrap();
        let radius = s.radius(0.3);
        let (mut inside, mut outside) = (0, 0);
        for (q, t) in train.iter().take(400).enumerate() {
            // Half the queries a training row barely moved (most within the radius).
            let x = if q % 2 == 0 {
                let mut x = t.clone();
                x[0] += 0.001;
                x
            } else {
                row(6.0)
            };
            let want = (s.distance(&x) - radius).max(0.0) / radius;
            let got = s.shortfall(&x, radius);
            assert_eq!(got.to_bits(), want.to_bits(), "{x:?}");
            if want == 0.0 {
                inside += 1;
            } else {
                outside += 1;
            }
        }
        assert!(
            inside > 50 && outside > 50,
            "{inside} inside, {outside} outside"
        );
        assert_eq!(s.shortfall(&[f64::NAN, 0.0, 0.0], radius), f64::INFINITY);
    }

    /// A group of queries close together scans only the reference rows that can be among the
    /// k nearest of one of them, and finds each query's k-th neighbour (row and bits) and
    /// shortfall as the full scan does: tight and loose groups, far groups, discrete levels
    /// shared or not, many exact ties (integer coordinates), a row count not a multiple of
    /// the scan's block.
    #[test]
    fn a_group_sets_aside_only_rows_no_query_needs() {
        use rand::Rng;
        let mut rng = seed::rng(12);
        let row = |rng: &mut seed::RemedyRng| -> Vec<f64> {
            vec![
                f64::from(rng.random_range(-4..5i8)),
                f64::from(rng.random_range(0..3u8)),
                f64::from(rng.random_range(-4..5i8)) * 0.5,
                rng.random_range(-2.0..2.0),
            ]
        };
        let train: Vec<Vec<f64>> = (0..803).map(|_| row(&mut rng)).collect();
        let held: Vec<Vec<f64>> = (0..40).map(|_| row(&mut rng)).collect();
        let unit = vec![Some(1.0), None, Some(0.7), Some(1.3)];
        let s = NormalSupport::fit(&train, &held, unit, 5, &mut seed::rng(2)).unwrap();
        let radius = s.radius(0.5);
        let l = s.layout();
        let mut pruned = 0;
        for trial in 0..60 {
            let spread = [0.0, 0.05, 0.5, 3.0][trial % 4];
            let shift = if trial % 5 == 0 { 8.0 } else { 0.0 };
            let centre = train[trial * 13].clone();
            let group: Vec<Vec<f64>> = (0..20)
                .map(|_| {
                    let mut x = centre.clone();
                    x[0] += shift + spread * rng.random_range(-1.0..1.0);
                    x[2] += spread * rng.random_range(-1.0..1.0);
                    x[3] += (spread * rng.random_range(-1.0..1.0) * 4.0).round() / 4.0;
                    if trial % 3 == 0 {
                        x[1] = f64::from(rng.random_range(0..3u8));
                    }
                    x
                })
                .collect();
            let parts: Vec<(Vec<f64>, Vec<f64>)> = group.iter().map(|x| s.parts(l, x)).collect();
            let xcs: Vec<&[f64]> = parts.iter().map(|p| p.0.as_slice()).collect();
            let xds: Vec<&[f64]> = parts.iter().map(|p| p.1.as_slice()).collect();
            let near = l.all.near(&xcs, &xds, s.k);
            if near.n < l.all.n {
                pruned += 1;
            }
            for (x, (xc, xd)) in group.iter().zip(&parts) {
                let (i, d2) = s.kth_neighbour(x).unwrap();
                let (ni, nd2) = near.kth(xc, xd, s.k, None).unwrap();
                assert_eq!(
                    (ni, nd2.to_bits()),
                    (i, d2.to_bits()),
                    "trial {trial}: {x:?}"
                );
            }
            let together = s.shortfalls(&group, radius);
            for (x, t) in group.iter().zip(together) {
                assert_eq!(t.to_bits(), s.shortfall(x, radius).to_bits(), "{x:?}");
            }
        }
        assert!(pruned >= 30, "only {pruned} of 60 groups set rows aside");
    }
}
