//! Feature encoding for the networks (RootCLAM spec §3.6): continuous features standardised
//! with the training mean and sample sd (ddof 1; a constant feature keeps sd 1), binary
//! features kept as 0/1, categorical features one-hot.

use crate::schema::FeatureType;
use crate::{Error, Result, Schema};
use serde::{Deserialize, Serialize};

/// Largest |scaled value| the networks see: a value further out is clipped to it. A value a
/// million training scales away is already as far out as evidence gets, and clipping keeps
/// the networks' `f32` arithmetic (squares of layer outputs) finite instead of refusing the
/// row; what is reported in the feature's own units is computed from the value itself.
pub const MAX_SCALED: f64 = 1e6;

/// How one feature is encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "encoding", rename_all = "lowercase")]
pub enum FeatureEncoding {
    /// (x − mean)/sd.
    Standard { mean: f64, sd: f64 },
    /// (x − min)/(max − min), the training range mapped to [0, 1].
    MinMax { min: f64, max: f64 },
    /// 0/1 as is.
    Binary,
    /// One column per level.
    OneHot { levels: usize },
}

/// How continuous features are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// Training mean and sample sd.
    #[default]
    Standard,
    /// Training minimum and maximum to [0, 1].
    MinMax,
}

/// A fitted encoder from raw feature rows (schema order, categories as indices) to network
/// inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabularEncoder {
    pub names: Vec<String>,
    pub features: Vec<FeatureEncoding>,
}

impl TabularEncoder {
    /// Fits the encoder on training rows, standardising continuous features.
    pub fn fit(schema: &Schema, rows: &[Vec<f64>]) -> Result<Self> {
        Self::fit_with(schema, rows, Scaling::Standard)
    }

    /// Fits the encoder on training rows with the given scaling of continuous features.
    pub fn fit_with(schema: &Schema, rows: &[Vec<f64>], scaling: Scaling) -> Result<Self> {
        let d = schema.features.len();
        let mut features = Vec::with_capacity(d);
        for (j, f) in schema.features.iter().enumerate() {
            features.push(match &f.kind {
                FeatureType::Continuous if scaling == Scaling::MinMax => {
                    let col = rows.iter().map(|r| r[j]);
                    let min = col.clone().fold(f64::INFINITY, f64::min);
                    let max = col.fold(f64::NEG_INFINITY, f64::max);
                    FeatureEncoding::MinMax { min, max }
                }
                FeatureType::Continuous => {
                    let col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                    let n = col.len() as f64;
                    let mean = col.iter().sum::<f64>() / n.max(1.0);
                    let sd = crate::schema::sample_sd(&col);
                    FeatureEncoding::Standard {
                        mean,
                        sd: if sd.is_finite() && sd > 0.0 { sd } else { 1.0 },
                    }
                }
                FeatureType::Binary => FeatureEncoding::Binary,
                FeatureType::Categorical { levels } => FeatureEncoding::OneHot {
                    levels: levels.len(),
                },
            });
        }
        let enc = TabularEncoder {
            names: schema.features.iter().map(|f| f.name.clone()).collect(),
            features,
        };
        enc.encode(rows)?;
        Ok(enc)
    }

    /// Number of raw features.
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// Width of an encoded row.
    pub fn width(&self) -> usize {
        self.features
            .iter()
            .map(|f| match f {
                FeatureEncoding::OneHot { levels } => *levels,
                _ => 1,
            })
            .sum()
    }

    /// Offset of each feature's first column in an encoded row.
    pub fn offsets(&self) -> Vec<usize> {
        let mut off = Vec::with_capacity(self.features.len());
        let mut k = 0;
        for f in &self.features {
            off.push(k);
            k += match f {
                FeatureEncoding::OneHot { levels } => *levels,
                _ => 1,
            };
        }
        off
    }

    /// Encodes rows into a row-major `f32` matrix of [`TabularEncoder::width`] columns,
    /// continuous values clipped to ±[`MAX_SCALED`] training scales. Fails on a row of the
    /// wrong length, a non-finite value, a binary value other than 0/1 or an unknown category,
    /// naming the row (1-based) and the feature.
    pub fn encode(&self, rows: &[Vec<f64>]) -> Result<Vec<f32>> {
        let w = self.width();
        let mut out = Vec::with_capacity(rows.len() * w);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != self.features.len() {
                return Err(Error::invalid(format!(
                    "row {} has {} values, the model expects {} ({})",
                    i + 1,
                    r.len(),
                    self.features.len(),
                    self.names.join(", ")
                )));
            }
            for (j, (f, &v)) in self.features.iter().zip(r).enumerate() {
                let bad = |what: &str| {
                    Error::invalid(format!(
                        "row {}, feature '{}': {what}",
                        i + 1,
                        self.names[j]
                    ))
                };
                if !v.is_finite() {
                    return Err(bad("missing or non-finite value"));
                }
                // Clipped, not refused: see MAX_SCALED.
                let scaled =
                    |z: f64| -> Result<f32> { Ok(z.clamp(-MAX_SCALED, MAX_SCALED) as f32) };
                match f {
                    FeatureEncoding::Standard { mean, sd } => out.push(scaled((v - mean) / sd)?),
                    FeatureEncoding::MinMax { min, max } => {
                        let range = if max > min { max - min } else { 1.0 };
                        out.push(scaled((v - min) / range)?);
                    }
                    FeatureEncoding::Binary => {
                        if v != 0.0 && v != 1.0 {
                            return Err(bad(&format!("binary feature has value {v}")));
                        }
                        out.push(v as f32);
                    }
                    FeatureEncoding::OneHot { levels } => {
                        if v < 0.0 || v.fract() != 0.0 || v as usize >= *levels {
                            return Err(bad(&format!(
                                "unknown category {v} (levels 0..{})",
                                levels - 1
                            )));
                        }
                        let k = v as usize;
                        out.extend((0..*levels).map(|l| if l == k { 1.0 } else { 0.0 }));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Raw rows from a row-major matrix of encoded values (for example a network's output):
    /// continuous back to raw units, binary to 0/1 at 0.5, categorical to the index of its
    /// largest column (the first on a tie).
    pub fn decode(&self, x: &[f32]) -> Vec<Vec<f64>> {
        let w = self.width();
        let offsets = self.offsets();
        x.chunks(w.max(1))
            .map(|row| {
                self.features
                    .iter()
                    .zip(&offsets)
                    .map(|(f, &o)| match f {
                        FeatureEncoding::Standard { mean, sd } => f64::from(row[o]) * sd + mean,
                        FeatureEncoding::MinMax { min, max } => {
                            let range = if max > min { max - min } else { 1.0 };
                            f64::from(row[o]) * range + min
                        }
                        FeatureEncoding::Binary => f64::from(u8::from(row[o] >= 0.5)),
                        FeatureEncoding::OneHot { levels } => {
                            let mut best = 0;
                            for k in 1..*levels {
                                if row[o + k] > row[o + best] {
                                    best = k;
                                }
                            }
                            best as f64
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Feature;

    fn schema() -> Schema {
        let f = |name: &str, kind| Feature {
            name: name.into(),
            kind,
            actionable: false,
            cost: 1.0,
            lower: None,
            upper: None,
        };
        Schema::new(vec![
            f("c", FeatureType::Continuous),
            f("b", FeatureType::Binary),
            f(
                "k",
                FeatureType::Categorical {
                    levels: vec!["x".into(), "y".into(), "z".into()],
                },
            ),
        ])
        .unwrap()
    }

    #[test]
    fn encodes_standard_binary_onehot() {
        let rows = vec![vec![1.0, 0.0, 2.0], vec![3.0, 1.0, 0.0]];
        let enc = TabularEncoder::fit(&schema(), &rows).unwrap();
        assert_eq!(enc.width(), 5);
        assert_eq!(enc.offsets(), vec![0, 1, 2]);
        // mean 2, sd √2 (ddof 1)
        let x = enc.encode(&rows).unwrap();
        let z = (1.0f64 / 2f64.sqrt()) as f32;
        assert_eq!(x, vec![-z, 0.0, 0.0, 0.0, 1.0, z, 1.0, 1.0, 0.0, 0.0]);
    }

    /// Decoding inverts encoding (continuous values to f32 precision), and reads a network's
    /// soft output: a binary at 0.5 or above is 1, a categorical its largest column, the first
    /// on a tie.
    #[test]
    fn decode_inverts_encode_and_reads_soft_outputs() {
        let rows = vec![
            vec![1.0, 0.0, 2.0],
            vec![3.0, 1.0, 0.0],
            vec![2.5, 1.0, 1.0],
        ];
        let enc = TabularEncoder::fit(&schema(), &rows).unwrap();
        let back = enc.decode(&enc.encode(&rows).unwrap());
        for (b, r) in back.iter().zip(&rows) {
            assert!((b[0] - r[0]).abs() < 1e-6, "{b:?} vs {r:?}");
            assert_eq!(&b[1..], &r[1..]);
        }
        let soft = enc.decode(&[0.0, 0.5, 0.2, 0.4, 0.4, 0.0, 0.49, 0.1, 0.0, 0.9]);
        let mean = (1.0 + 3.0 + 2.5) / 3.0; // an encoded 0 is the training mean
        assert_eq!(soft, vec![vec![mean, 1.0, 1.0], vec![mean, 0.0, 2.0]]);
    }

    #[test]
    fn bad_values_are_named() {
        let enc =
            TabularEncoder::fit(&schema(), &[vec![1.0, 0.0, 2.0], vec![3.0, 1.0, 0.0]]).unwrap();
        let e = enc.encode(&[vec![1.0, 0.0, 3.0]]).unwrap_err().to_string();
        assert!(e.contains("'k'") && e.contains("unknown category 3"), "{e}");
        let e = enc.encode(&[vec![1.0, 0.5, 0.0]]).unwrap_err().to_string();
        assert!(e.contains("'b'"), "{e}");
        let e = enc
            .encode(&[vec![f64::NAN, 0.0, 0.0]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("'c'") && e.contains("row 1"), "{e}");
        assert!(enc.encode(&[vec![1.0]]).is_err());
        // A finite value that would overflow the networks' f32 arithmetic is clipped, not
        // refused: mean 2, sd √2, so 1e308 lands at +MAX_SCALED and −1e308 at −MAX_SCALED.
        let x = enc
            .encode(&[vec![1e308, 0.0, 0.0], vec![-1e308, 0.0, 0.0]])
            .unwrap();
        assert_eq!((x[0], x[5]), (MAX_SCALED as f32, -MAX_SCALED as f32));
        let x = enc.encode(&[vec![1e5, 0.0, 0.0]]).unwrap();
        assert!(
            (f64::from(x[0]) - (1e5 - 2.0) / 2f64.sqrt()).abs() < 1.0,
            "{}",
            x[0]
        );
    }
}
