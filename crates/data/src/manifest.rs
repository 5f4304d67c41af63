//! `dataset.json`: what was generated, from which seed and with which sizes, so that a
//! directory of generated files says how to make it again.

use serde::{Deserialize, Serialize};

/// Version of the generated-dataset layout.
pub const DATASET_FORMAT_VERSION: u32 = 1;

/// The manifest written next to generated files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetManifest {
    pub format_version: u32,
    pub generator: String,
    pub dataset: String,
    pub seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
    /// Named counts (rows or series) of each part.
    pub sizes: std::collections::BTreeMap<String, usize>,
    /// Label column of the test file.
    pub label_column: Option<String>,
    pub files: Vec<String>,
}

impl DatasetManifest {
    /// Pretty JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        v.push(b'\n');
        v
    }
}
