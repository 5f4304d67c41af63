//! Root-cause metrics against true root-cause sets (reference spec §8.1) and the expected
//! metrics of a random locator (spec §10.2).
//!
//! Each row contributes one 0/1 slot per candidate feature (flagged or not, root cause or
//! not); the slots of all rows are pooled ("flattened", micro-averaged as sklearn's
//! `classification_report` does on the concatenated vectors, spec §8.1):
//!
//! - `accuracy = (TP + TN) / N`, `precision = TP / (TP + FP)`, `recall = TP / (TP + FN)`,
//!   `F1 = 2TP / (2TP + FP + FN)` for class 1, with 0 where a denominator is 0 (sklearn's
//!   `zero_division` result);
//! - `exact_set_accuracy`: the fraction of rows whose predicted set equals the true set
//!   restricted to the candidates;
//! - `paper_accuracy`: the reference code's accuracy over **all** features of each row, where
//!   non-candidate features are never predicted and therefore count as correct unless they are
//!   true root causes (spec §8.1: 3 of Loan's 7 and 7 of Adult's 10 slots are always 0). It
//!   rises with the share of non-candidate features whatever the locator does, so compare
//!   locators on the candidate metrics.
//!
//! [`random_baseline`] gives the exact expectation of every metric for a locator that flags each
//! candidate slot independently with probability `p`, the chance level against which spec §10.2
//! shows the paper's Table 3 cannot be told apart.

use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Root-cause localisation metrics (module docs). Counts are `f64` because
/// [`random_baseline`] reports expected counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCauseMetrics {
    /// Number of rows.
    pub rows: usize,
    /// Number of candidate features per row.
    pub candidates: usize,
    /// Accuracy over the candidate slots.
    pub accuracy: f64,
    /// Precision of class 1 over the candidate slots.
    pub precision: f64,
    /// Recall of class 1 over the candidate slots.
    pub recall: f64,
    /// F1 of class 1 over the candidate slots.
    pub f1: f64,
    /// Fraction of rows whose predicted set equals the true set (within the candidates).
    pub exact_set_accuracy: f64,
    /// The reference code's flattened accuracy over all features (spec §8.1).
    pub paper_accuracy: f64,
    /// Fraction of candidate slots flagged.
    pub flag_rate: f64,
    /// Fraction of candidate slots that are true root causes (the precision of chance).
    pub base_rate: f64,
    /// True positives (candidate slots).
    pub true_positives: f64,
    /// False positives.
    pub false_positives: f64,
    /// False negatives.
    pub false_negatives: f64,
    /// True negatives.
    pub true_negatives: f64,
}

/// Metrics of `predicted` root-cause sets against `truth`, one set per row, feature indices
/// below `n_features`. Predicted features must be candidates; true root causes outside the
/// candidates only count in `paper_accuracy`.
pub fn evaluate(
    truth: &[Vec<usize>],
    predicted: &[Vec<usize>],
    candidates: &[usize],
    n_features: usize,
) -> Result<RootCauseMetrics> {
    check_sets(truth, candidates, n_features, "true root causes")?;
    check_sets(predicted, candidates, n_features, "predicted root causes")?;
    if truth.len() != predicted.len() {
        return Err(Error::invalid(format!(
            "{} rows of true root causes but {} rows of predictions",
            truth.len(),
            predicted.len()
        )));
    }
    for (r, set) in predicted.iter().enumerate() {
        if let Some(f) = set.iter().find(|f| !candidates.contains(f)) {
            return Err(Error::invalid(format!(
                "row {r}: predicted root cause {f} is not a candidate feature {candidates:?}"
            )));
        }
    }
    let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
    let (mut exact, mut paper_correct) = (0usize, 0usize);
    for (t, p) in truth.iter().zip(predicted) {
        let mut row_exact = true;
        for &c in candidates {
            match (t.contains(&c), p.contains(&c)) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => tn += 1,
            }
            row_exact &= t.contains(&c) == p.contains(&c);
        }
        exact += usize::from(row_exact);
        // All features: correct where the prediction (never a non-candidate) agrees.
        paper_correct += (0..n_features)
            .filter(|f| t.contains(f) == p.contains(f))
            .count();
    }
    let rows = truth.len();
    let slots = (rows * candidates.len()) as f64;
    let (tp, fp, fn_, tn) = (tp as f64, fp as f64, fn_ as f64, tn as f64);
    Ok(RootCauseMetrics {
        rows,
        candidates: candidates.len(),
        accuracy: (tp + tn) / slots,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
        exact_set_accuracy: exact as f64 / rows as f64,
        paper_accuracy: paper_correct as f64 / (rows * n_features) as f64,
        flag_rate: (tp + fp) / slots,
        base_rate: (tp + fn_) / slots,
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        true_negatives: tn,
    })
}

/// The expected metrics of a locator that flags each candidate of each row independently with
/// probability `p` (spec §10.2), given the true sets. With `N` candidate slots of which `T` are
/// true root causes (`F = N − T`), `K ~ Binomial(N, p)` flagged slots, and `t_r` true
/// candidates in row `r`, the closed forms are:
///
/// - `E[accuracy] = (T·p + F·(1 − p)) / N`;
/// - `E[recall] = p` (0 when `T = 0`);
/// - `E[precision] = (T/N)·(1 − (1 − p)^N)`: given `K = k > 0` the flagged slots are a uniform
///   `k`-subset, so `E[TP | K = k] = k·T/N` and precision has conditional mean `T/N`; it is 0
///   when nothing is flagged;
/// - `E[F1] = Σ_{k=1}^{N} P(K = k) · 2kT / (N·(k + T))`, since `F1 = 2TP / (K + T)`;
/// - `E[exact-set accuracy] = mean_r p^{t_r} (1 − p)^{c − t_r}` (`c` candidates);
/// - `E[paper accuracy] = Σ_r (n_non-candidates correct + t_r·p + (c − t_r)(1 − p)) /
///   (rows·n_features)`, the formula of spec §10.2 for equal-sized rows.
///
/// Expected counts are `T·p`, `F·p`, `T·(1 − p)`, `F·(1 − p)`; `flag_rate = p`.
pub fn random_baseline(
    truth: &[Vec<usize>],
    candidates: &[usize],
    n_features: usize,
    p: f64,
) -> Result<RootCauseMetrics> {
    check_sets(truth, candidates, n_features, "true root causes")?;
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::invalid(format!(
            "random-baseline flag probability must lie in [0, 1], got {p}"
        )));
    }
    let rows = truth.len();
    let c = candidates.len();
    let per_row: Vec<usize> = truth
        .iter()
        .map(|t| candidates.iter().filter(|f| t.contains(f)).count())
        .collect();
    let n = rows * c;
    let t_total: usize = per_row.iter().sum();
    let (nf, tf) = (n as f64, t_total as f64);
    let ff = nf - tf;
    let q = 1.0 - p;
    let recall = if t_total > 0 { p } else { 0.0 };
    let precision = (tf / nf) * (1.0 - q.powi(n as i32));
    let f1 = if t_total == 0 {
        0.0
    } else {
        binomial_pmf(n, p)
            .into_iter()
            .enumerate()
            .skip(1)
            .map(|(k, pk)| pk * 2.0 * k as f64 * tf / (nf * (k as f64 + tf)))
            .sum()
    };
    let exact = per_row
        .iter()
        .map(|&t| p.powi(t as i32) * q.powi((c - t) as i32))
        .sum::<f64>()
        / rows as f64;
    let paper_correct: f64 = truth
        .iter()
        .zip(&per_row)
        .map(|(t, &tr)| {
            let outside_truth = t.iter().filter(|f| !candidates.contains(f)).count();
            (n_features - c - outside_truth) as f64 + tr as f64 * p + (c - tr) as f64 * q
        })
        .sum();
    Ok(RootCauseMetrics {
        rows,
        candidates: c,
        accuracy: (tf * p + ff * q) / nf,
        precision,
        recall,
        f1,
        exact_set_accuracy: exact,
        paper_accuracy: paper_correct / (rows * n_features) as f64,
        flag_rate: p,
        base_rate: tf / nf,
        true_positives: tf * p,
        false_positives: ff * p,
        false_negatives: tf * q,
        true_negatives: ff * q,
    })
}

/// `P(K = k)` for `K ~ Binomial(n, p)`, `k = 0..=n`, by the ratio recurrence in log space.
fn binomial_pmf(n: usize, p: f64) -> Vec<f64> {
    if p <= 0.0 {
        let mut v = vec![0.0; n + 1];
        v[0] = 1.0;
        return v;
    }
    if p >= 1.0 {
        let mut v = vec![0.0; n + 1];
        v[n] = 1.0;
        return v;
    }
    let log_odds = (p / (1.0 - p)).ln();
    let mut log_pk = n as f64 * (-p).ln_1p();
    let mut out = Vec::with_capacity(n + 1);
    for k in 0..=n {
        out.push(log_pk.exp());
        if k < n {
            log_pk += ((n - k) as f64 / (k + 1) as f64).ln() + log_odds;
        }
    }
    out
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

fn check_sets(
    sets: &[Vec<usize>],
    candidates: &[usize],
    n_features: usize,
    what: &str,
) -> Result<()> {
    crate::check_candidates(candidates, n_features)?;
    if sets.is_empty() {
        return Err(Error::invalid(format!("no rows of {what} to evaluate")));
    }
    for (r, set) in sets.iter().enumerate() {
        for (k, &f) in set.iter().enumerate() {
            if f >= n_features {
                return Err(Error::invalid(format!(
                    "row {r}: {what} name feature {f}, but rows have {n_features} features"
                )));
            }
            if set[..k].contains(&f) {
                return Err(Error::invalid(format!(
                    "row {r}: {what} list feature {f} twice"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Worked example (by hand). 3 rows, 5 features, candidates {1, 2, 3}.
    /// truth     {1}, {1, 2}, {3}; predicted {1, 3}, {2}, {}.
    /// Candidate slots (9): row 0: TP(1) TN(2) FP(3); row 1: FN(1) TP(2) TN(3);
    /// row 2: TN(1) TN(2) FN(3). TP 2, FP 1, FN 2, TN 4.
    /// accuracy 6/9, precision 2/3, recall 2/4, F1 4/7, exact sets 0/3.
    /// All 15 slots: the 6 non-candidate slots are correct, so paper accuracy (6 + 6)/15.
    #[test]
    fn hand_computed_example() {
        let truth = vec![vec![1], vec![1, 2], vec![3]];
        let pred = vec![vec![1, 3], vec![2], vec![]];
        let m = evaluate(&truth, &pred, &[1, 2, 3], 5).unwrap();
        assert_eq!(
            (
                m.true_positives,
                m.false_positives,
                m.false_negatives,
                m.true_negatives
            ),
            (2.0, 1.0, 2.0, 4.0)
        );
        assert!((m.accuracy - 6.0 / 9.0).abs() < 1e-12);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        assert!((m.f1 - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(m.exact_set_accuracy, 0.0);
        assert!((m.paper_accuracy - 12.0 / 15.0).abs() < 1e-12);
        assert!((m.flag_rate - 3.0 / 9.0).abs() < 1e-12);
        assert!((m.base_rate - 4.0 / 9.0).abs() < 1e-12);
        // A perfect locator: every metric 1.
        let m = evaluate(&truth, &truth, &[1, 2, 3], 5).unwrap();
        assert_eq!(
            (m.accuracy, m.f1, m.exact_set_accuracy, m.paper_accuracy),
            (1.0, 1.0, 1.0, 1.0)
        );
        // Nothing predicted: precision and F1 are 0 by the zero-division convention.
        let none = vec![vec![], vec![], vec![]];
        let m = evaluate(&truth, &none, &[1, 2, 3], 5).unwrap();
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn bad_sets_are_named() {
        let e = evaluate(&[vec![1]], &[vec![4]], &[1, 2], 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 0") && e.contains("not a candidate"), "{e}");
        let e = evaluate(&[vec![9]], &[vec![]], &[1, 2], 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("feature 9"), "{e}");
        let e = evaluate(&[vec![1, 1]], &[vec![]], &[1, 2], 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
        let e = evaluate(&[vec![1]], &[], &[1, 2], 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no rows"), "{e}");
        let e = evaluate(&[vec![1]], &[vec![], vec![]], &[1, 2], 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 rows of true root causes but 2"), "{e}");
        let e = evaluate(&[vec![1]], &[vec![]], &[7], 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range"), "{e}");
        assert!(random_baseline(&[vec![1]], &[1], 5, 1.5).is_err());
    }

    /// The 15 Loan anomaly groups (every non-empty subset of the 4 actionable features L, D, I,
    /// S at indices 3..=6 of 7), in equal counts (spec §3.2), one row per group.
    fn loan_truth() -> Vec<Vec<usize>> {
        (1u32..16)
            .map(|mask| {
                (0..4)
                    .filter(|b| mask & (1 << b) != 0)
                    .map(|b| 3 + b)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reproduces_spec_chance_level_table() {
        // Spec §10.2: Loan base rate 32/60 = 0.533; with the flag rate p set to the reported
        // recall (paper Table 3, Loan AE: CausalRCA 0.680, RootCLAM 0.765), a predictor
        // independent of the truth has accuracy 0.721 and 0.724 ("Acc if independent").
        let truth = loan_truth();
        for (p, acc) in [
            (0.680, 0.721),
            (0.765, 0.724),
            (0.561, 0.717),
            (0.776, 0.725),
        ] {
            let m = random_baseline(&truth, &[3, 4, 5, 6], 7, p).unwrap();
            assert!(
                (m.paper_accuracy - acc).abs() < 5e-4,
                "p {p}: {}",
                m.paper_accuracy
            );
            assert!((m.base_rate - 32.0 / 60.0).abs() < 1e-12);
            assert!((m.precision - 32.0 / 60.0).abs() < 1e-6);
            assert!((m.recall - p).abs() < 1e-12);
        }
        // Adult: 7 groups over {A, E, H} at indices 1, 4, 5 of 10 features; base rate 12/21;
        // RootCLAM AE recall 0.849 → 0.865, CausalRCA AE 0.615 → 0.855.
        let adult: Vec<Vec<usize>> = (1u32..8)
            .map(|mask| {
                [1, 4, 5]
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| mask & (1 << b) != 0)
                    .map(|(_, f)| *f)
                    .collect()
            })
            .collect();
        for (p, acc) in [(0.849, 0.865), (0.615, 0.855)] {
            let m = random_baseline(&adult, &[1, 4, 5], 10, p).unwrap();
            assert!(
                (m.paper_accuracy - acc).abs() < 5e-4,
                "p {p}: {}",
                m.paper_accuracy
            );
            assert!((m.base_rate - 12.0 / 21.0).abs() < 1e-12);
        }
    }

    #[test]
    fn random_baseline_matches_simulation() {
        // Small case, so that the nonlinear precision and F1 differ from their plug-in values.
        let truth = vec![vec![0], vec![0, 2], vec![], vec![4]];
        let cands = [0, 2, 3];
        let (n_features, p) = (5, 0.3);
        let expected = random_baseline(&truth, &cands, n_features, p).unwrap();
        let mut rng = remedy_core::seed::rng(11);
        let reps = 200_000;
        let mut sums = [0.0f64; 6];
        let mut sq = [0.0f64; 6];
        for _ in 0..reps {
            let pred: Vec<Vec<usize>> = truth
                .iter()
                .map(|_| {
                    cands
                        .iter()
                        .copied()
                        .filter(|_| rng.random::<f64>() < p)
                        .collect()
                })
                .collect();
            let m = evaluate(&truth, &pred, &cands, n_features).unwrap();
            let vals = [
                m.accuracy,
                m.precision,
                m.recall,
                m.f1,
                m.exact_set_accuracy,
                m.paper_accuracy,
            ];
            for k in 0..6 {
                sums[k] += vals[k];
                sq[k] += vals[k] * vals[k];
            }
        }
        let want = [
            expected.accuracy,
            expected.precision,
            expected.recall,
            expected.f1,
            expected.exact_set_accuracy,
            expected.paper_accuracy,
        ];
        for k in 0..6 {
            let mean = sums[k] / reps as f64;
            let se = ((sq[k] / reps as f64 - mean * mean) / reps as f64).sqrt();
            assert!(
                (mean - want[k]).abs() < 4.0 * se + 1e-12,
                "metric {k}: simulated {mean} ± {se}, closed form {}",
                want[k]
            );
        }
        // The closed forms are not the plug-in values: E[precision] < base rate here because
        // nothing is flagged with probability 0.7^12 ≈ 0.014: 0.25 · (1 − 0.7^12) ≈ 0.2465.
        assert!((expected.base_rate - 0.25).abs() < 1e-12);
        assert!((expected.precision - 0.25 * (1.0 - 0.7f64.powi(12))).abs() < 1e-12);
        assert!(expected.precision < expected.base_rate - 0.003);
    }

    #[test]
    fn binomial_pmf_sums_to_one() {
        for (n, p) in [(0, 0.3), (10, 0.0), (10, 1.0), (700, 0.77)] {
            let s: f64 = binomial_pmf(n, p).iter().sum();
            assert!((s - 1.0).abs() < 1e-9, "n {n} p {p}: {s}");
        }
    }
}
