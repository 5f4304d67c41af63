//! Semi-synthetic benchmarks with ground truth: exact structural causal models for tabular data
//! (Loan, Adult) with injected root-cause anomalies, and multivariate time series (Linear VAR,
//! Lotka-Volterra) with point, sequence and causal anomalies and their anomaly-free
//! continuations.

pub mod adult;
pub mod loan;
pub mod manifest;
pub mod scm;
pub mod tabular;
pub mod timeseries;

pub use adult::Adult;
pub use loan::Loan;
pub use scm::{NodeKind, Scm};
