//! Core types shared by every Remedy crate: the causal [`Dag`], the feature [`Schema`], in-memory
//! [`Table`]s with CSV/Parquet IO, seeded randomness, the error type and the traits that the
//! detectors, causal models, locators and recourse policies implement.

pub mod batches;
pub mod dag;
pub mod dot;
pub mod encode;
pub mod error;
pub mod granger;
pub mod intervention;
pub mod io;
pub mod schema;
pub mod seed;
pub mod special;
pub mod table;
pub mod traits;

pub use dag::Dag;
pub use error::{Error, Result};
pub use granger::GrangerGraph;
pub use intervention::Intervention;
pub use schema::{Feature, FeatureType, Schema};
pub use table::{Column, Table};
