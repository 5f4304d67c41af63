//! Benchmark assembly.
