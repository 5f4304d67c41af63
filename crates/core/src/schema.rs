//! The feature schema: per feature its type (continuous, binary, categorical with levels),
//! whether it is actionable, its cost weight and optional bounds. Read from and written to TOML;
//! inferred from a table with stated defaults when absent.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Column, Error, Result, Table};

/// Version of the schema file format.
pub const SCHEMA_FORMAT_VERSION: u32 = 1;

/// The type of a feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum FeatureType {
    /// A real number.
    Continuous,
    /// 0 or 1.
    Binary,
    /// One of `levels`; stored in tables as the level's index (0-based) or its text.
    Categorical { levels: Vec<String> },
}

/// One feature of the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    #[serde(flatten)]
    pub kind: FeatureType,
    /// Whether a recommendation may act on this feature.
    #[serde(default)]
    pub actionable: bool,
    /// Cost weight c_i of acting on this feature by one unit (paper Eq. 3 uses the feature's sd).
    #[serde(default = "one")]
    pub cost: f64,
    /// Lowest value an action may produce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Highest value an action may produce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

fn one() -> f64 {
    1.0
}

impl Feature {
    /// An actionable continuous feature of cost weight `cost`, without bounds: what a numeric
    /// column is unless a schema says otherwise.
    pub fn continuous(name: impl Into<String>, cost: f64) -> Self {
        Feature {
            name: name.into(),
            kind: FeatureType::Continuous,
            actionable: true,
            cost,
            lower: None,
            upper: None,
        }
    }
}

/// The schema: an ordered list of features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    #[serde(default = "default_version")]
    pub format_version: u32,
    #[serde(rename = "feature")]
    pub features: Vec<Feature>,
}

fn default_version() -> u32 {
    SCHEMA_FORMAT_VERSION
}

impl Schema {
    /// A schema from features, checking it.
    pub fn new(features: Vec<Feature>) -> Result<Self> {
        let s = Schema {
            format_version: SCHEMA_FORMAT_VERSION,
            features,
        };
        s.validate()?;
        Ok(s)
    }

    /// Feature names in order.
    pub fn names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }

    /// The feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Checks names are unique, costs positive and finite, bounds ordered, levels non-empty.
    pub fn validate(&self) -> Result<()> {
        if self.format_version > SCHEMA_FORMAT_VERSION {
            return Err(Error::invalid(format!(
                "schema format_version {} is newer than this remedy understands ({SCHEMA_FORMAT_VERSION})",
                self.format_version
            )));
        }
        for (i, f) in self.features.iter().enumerate() {
            if self.features[..i].iter().any(|g| g.name == f.name) {
                return Err(Error::invalid(format!(
                    "schema lists feature '{}' twice",
                    f.name
                )));
            }
            if !(f.cost.is_finite() && f.cost > 0.0) {
                return Err(Error::invalid(format!(
                    "schema: feature '{}' has cost {}, it must be a positive number",
                    f.name, f.cost
                )));
            }
            if let (Some(lo), Some(hi)) = (f.lower, f.upper)
                && lo > hi
            {
                return Err(Error::invalid(format!(
                    "schema: feature '{}' has lower bound {lo} above upper bound {hi}",
                    f.name
                )));
            }
            if let FeatureType::Categorical { levels } = &f.kind
                && levels.is_empty()
            {
                return Err(Error::invalid(format!(
                    "schema: categorical feature '{}' has no levels",
                    f.name
                )));
            }
        }
        Ok(())
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        let s: Schema =
            toml::from_str(text).map_err(|e| Error::invalid(format!("schema: {}", e.message())))?;
        s.validate()?;
        Ok(s)
    }

    /// Reads a TOML schema file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Schema::from_toml(&text)
            .map_err(|e| Error::format(path.display().to_string(), e.to_string()))
    }

    /// TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a schema always serialises")
    }

    /// Infers a schema from the named columns of a table: text columns become categorical
    /// (levels sorted; an empty cell is a missing value, not a level), numeric columns
    /// continuous, actionable with cost = the sample sd of their values (1 when constant or
    /// empty). A numeric column is never inferred binary or categorical, even when it holds
    /// only 0 and 1: a metric that sat at 0 in the normal rows (a latency that never moved)
    /// must still be scored when it moves to 100; declare `type = "binary"` in a schema for a
    /// real flag.
    pub fn infer(table: &Table, columns: &[&str]) -> Result<Self> {
        let mut features = Vec::with_capacity(columns.len());
        for &name in columns {
            let col = table.column(name)?;
            let feature = match col {
                // No value at all: nothing says it is text; a numeric column with no value.
                Column::Text(values) if values.iter().all(|v| v.trim().is_empty()) => {
                    Feature::continuous(name, 1.0)
                }
                Column::Text(values) => {
                    let mut levels: Vec<String> =
                        values.iter().filter(|v| !v.is_empty()).cloned().collect();
                    levels.sort();
                    levels.dedup();
                    Feature {
                        name: name.to_string(),
                        kind: FeatureType::Categorical { levels },
                        actionable: false,
                        cost: 1.0,
                        lower: None,
                        upper: None,
                    }
                }
                Column::Num(values) => {
                    let observed: Vec<f64> =
                        values.iter().copied().filter(|v| v.is_finite()).collect();
                    let sd = sample_sd(&observed);
                    Feature::continuous(name, if sd.is_finite() && sd > 0.0 { sd } else { 1.0 })
                }
            };
            features.push(feature);
        }
        Schema::new(features)
    }
}

/// Sample standard deviation (ddof = 1); NaN for fewer than two values.
pub fn sample_sd(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    if values.len() < 2 {
        return f64::NAN;
    }
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loan_like() -> Schema {
        Schema::new(vec![
            Feature {
                name: "G".into(),
                kind: FeatureType::Binary,
                actionable: false,
                cost: 1.0,
                lower: None,
                upper: None,
            },
            Feature {
                name: "R".into(),
                kind: FeatureType::Categorical {
                    levels: vec!["a".into(), "b".into()],
                },
                actionable: false,
                cost: 1.0,
                lower: None,
                upper: None,
            },
            Feature {
                name: "L".into(),
                kind: FeatureType::Continuous,
                actionable: true,
                cost: 2.76,
                lower: Some(-10.0),
                upper: None,
            },
        ])
        .unwrap()
    }

    #[test]
    fn toml_round_trip() {
        let s = loan_like();
        let text = s.to_toml();
        assert!(text.contains("type = \"categorical\""), "{text}");
        assert_eq!(Schema::from_toml(&text).unwrap(), s);
    }

    #[test]
    fn defaults_and_errors() {
        let s = Schema::from_toml("[[feature]]\nname = \"x\"\ntype = \"continuous\"\n").unwrap();
        assert_eq!(s.features[0].cost, 1.0);
        assert!(!s.features[0].actionable);
        let e = Schema::from_toml("[[feature]]\nname=\"x\"\ntype=\"continuous\"\ncost=-1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'x'") && e.contains("cost"), "{e}");
        let e = Schema::from_toml("[[feature]]\nname=\"x\"\ntype=\"weird\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("weird") || e.contains("variant"), "{e}");
        let two =
            "[[feature]]\nname=\"x\"\ntype=\"binary\"\n[[feature]]\nname=\"x\"\ntype=\"binary\"\n";
        assert!(
            Schema::from_toml(two)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn infer_types() {
        let t = Table::new(vec![
            ("b".into(), Column::Num(vec![0.0, 1.0, 1.0])),
            ("c".into(), Column::Num(vec![1.0, 2.0, 3.0])),
            (
                "k".into(),
                Column::Text(vec!["z".into(), "y".into(), "z".into()]),
            ),
        ])
        .unwrap();
        let s = Schema::infer(&t, &["b", "c", "k"]).unwrap();
        // 0/1 numbers stay continuous: only a schema makes a feature binary.
        assert_eq!(s.features[0].kind, FeatureType::Continuous);
        assert_eq!(s.features[1].kind, FeatureType::Continuous);
        assert!((s.features[1].cost - 1.0).abs() < 1e-12);
        assert!(s.features[1].actionable);
        assert_eq!(
            s.features[2].kind,
            FeatureType::Categorical {
                levels: vec!["y".into(), "z".into()]
            }
        );
    }
}
