//! Detection metrics: F1 of the anomalous class at the threshold, and the exact, rank-based
//! AUROC (Mann-Whitney, ties counted one half) and AUPRC (average precision as scikit-learn's
//! `average_precision_score` computes it, tied scores forming one step).

use serde::{Deserialize, Serialize};

/// F1, AUROC and AUPRC of a set of scores against labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectionMetrics {
    pub f1: f64,
    pub precision: f64,
    pub recall: f64,
    pub auroc: f64,
    pub auprc: f64,
}

impl DetectionMetrics {
    /// All metrics; a score above `threshold` predicts an anomaly.
    pub fn compute(scores: &[f64], labels: &[bool], threshold: f64) -> Self {
        let pred: Vec<bool> = scores.iter().map(|&s| s > threshold).collect();
        let (precision, recall, f1) = precision_recall_f1(&pred, labels);
        DetectionMetrics {
            f1,
            precision,
            recall,
            auroc: auroc(scores, labels),
            auprc: auprc(scores, labels),
        }
    }
}

/// Precision, recall and F1 of the positive class (0 where undefined, as scikit-learn).
pub fn precision_recall_f1(pred: &[bool], labels: &[bool]) -> (f64, f64, f64) {
    let tp = pred.iter().zip(labels).filter(|(p, l)| **p && **l).count() as f64;
    let fp = pred.iter().zip(labels).filter(|(p, l)| **p && !**l).count() as f64;
    let fnn = pred.iter().zip(labels).filter(|(p, l)| !**p && **l).count() as f64;
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fnn > 0.0 { tp / (tp + fnn) } else { 0.0 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// Area under the ROC curve: the probability that a random anomaly scores above a random normal
/// point, ties counting one half. NaN when either class is empty.
pub fn auroc(scores: &[f64], labels: &[bool]) -> f64 {
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (average, 1-based) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * idx[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

/// Average precision: Σ_k (R_k − R_{k−1}) P_k over the distinct score thresholds in decreasing
/// order. NaN when there is no positive.
pub fn auprc(scores: &[f64], labels: &[bool]) -> f64 {
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut ap, mut prev_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            if labels[k] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
        }
        let recall = tp / n_pos as f64;
        ap += (recall - prev_recall) * tp / (tp + fp);
        prev_recall = recall;
        i = j + 1;
    }
    ap
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn's documented example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) =
    /// 0.75 and average_precision_score(same) = 0.8333….
    #[test]
    fn sklearn_doc_example() {
        let s = [0.1, 0.4, 0.35, 0.8];
        let l = [false, false, true, true];
        assert!((auroc(&s, &l) - 0.75).abs() < 1e-12);
        assert!((auprc(&s, &l) - 0.833_333_333_333_333_4).abs() < 1e-12);
    }

    /// Worked by hand: ties between a positive and a negative count one half in AUROC and form
    /// a single step in AP. Scores [1, 1, 0], labels [1, 0, 0]: AUROC = (0.5 + 1)/2 = 0.75;
    /// AP = recall 1 at precision 1/2 = 0.5.
    #[test]
    fn ties() {
        let s = [1.0, 1.0, 0.0];
        let l = [true, false, false];
        assert!((auroc(&s, &l) - 0.75).abs() < 1e-12);
        assert!((auprc(&s, &l) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn perfect_and_degenerate() {
        let s = [0.1, 0.2, 0.9, 0.95];
        let l = [false, false, true, true];
        assert_eq!(auroc(&s, &l), 1.0);
        assert_eq!(auprc(&s, &l), 1.0);
        let m = DetectionMetrics::compute(&s, &l, 0.5);
        assert_eq!((m.precision, m.recall, m.f1), (1.0, 1.0, 1.0));
        // Threshold above everything: nothing predicted, F1 0.
        assert_eq!(DetectionMetrics::compute(&s, &l, 2.0).f1, 0.0);
        assert!(auroc(&s, &[false; 4]).is_nan());
    }

    /// F1 by hand: pred [1,1,0,0], labels [1,0,1,0]: P = 1/2, R = 1/2, F1 = 1/2.
    #[test]
    fn f1_by_hand() {
        let (p, r, f) =
            precision_recall_f1(&[true, true, false, false], &[true, false, true, false]);
        assert_eq!((p, r, f), (0.5, 0.5, 0.5));
    }
}
