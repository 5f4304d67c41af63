//! Multivariate time-series benchmarks (RecAD spec §2).
