//! Anomaly detectors trained on normal data only, each exposing a score and a threshold: the
//! autoencoder and Deep SVDD for tabular rows (RootCLAM spec §4), USAD for sliding windows of a
//! time series (RecAD spec §1 Eq. 4, §4); the feature encoding they share; thresholds; and the
//! detection metrics (F1 at the threshold, exact rank-based AUROC and AUPRC).

pub mod autoencoder;
mod common;
pub mod deepsvdd;
pub mod differentiable;
pub use remedy_core::encode;
pub mod metrics;
pub mod threshold;
pub mod usad;

pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use deepsvdd::{DeepSvdd, DeepSvddConfig};
pub use differentiable::DifferentiableDetector;
pub use encode::TabularEncoder;
pub use metrics::DetectionMetrics;
pub use usad::{Usad, UsadConfig};

use remedy_core::Result;

/// A fitted anomaly detector: higher scores are more anomalous; a row is flagged when its score
/// exceeds the threshold.
pub trait AnomalyDetector: Send + Sync {
    /// Anomaly scores of raw feature rows (schema order; categories as indices).
    fn score(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>>;

    /// The decision threshold τ.
    fn threshold(&self) -> f64;

    /// Whether each row is flagged (score > τ; a score equal to τ counts as normal, as in the
    /// reference).
    fn predict(&self, rows: &[Vec<f64>]) -> Result<Vec<bool>> {
        let t = self.threshold();
        Ok(self.score(rows)?.into_iter().map(|s| s > t).collect())
    }
}
