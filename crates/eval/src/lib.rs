//! Reproduction of the papers' experiments on the benchmarks with ground truth: each function
//! generates the data from a seed, trains what the experiment needs, and returns the numbers of
//! the corresponding paper table as a serialisable report.

pub mod detection;
pub mod html;
pub mod label_bound;
pub mod recad;
pub mod rootcause;
pub mod rootclam;
pub mod series_causes;
pub mod skab;
pub mod skab_page;
pub mod userpath;
