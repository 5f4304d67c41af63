//! Empty cells and what the normal rows say about each feature's values: how `fit` fills the
//! gaps of its training rows, how a new row's gaps are filled, which of a row's features were
//! observed (a feature a row does not have is never named as its root cause), and which
//! features never moved in the normal rows (their evidence is decided without a scale, see
//! `ops`).
//!
//! Training rows: an empty cell is filled by a value drawn uniformly from the same column's
//! observed training values (random hot-deck imputation, seeded). A fixed fill (the median)
//! would shrink a sparsely observed column to a spike, and every real value of it in a new row
//! would then look far off; drawing keeps the column's spread. New rows: an empty cell takes
//! the column's training median (the most frequent level of a discrete feature), so the row's
//! other features are judged against a typical value, and the feature is marked unobserved.

use rand::Rng;
use remedy_core::schema::FeatureType;
use remedy_core::{Error, Result, Schema};
use serde::{Deserialize, Serialize};

/// What `fit` does with empty cells (and what the model then does with them in new rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// Fill them (module docs) and say how many were filled.
    #[default]
    Impute,
    /// Refuse a row with an empty cell, naming the row and the column.
    Error,
}

/// Per feature (schema order), what the normal rows say about its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalValues {
    /// How empty cells are treated.
    pub policy: Missing,
    /// The value that fills an empty cell of a new row: the training median of a continuous
    /// feature, the most frequent value of a discrete one.
    pub fill: Vec<f64>,
    /// The feature's value when every normal row that has it holds the same value.
    pub constant: Vec<Option<f64>>,
    /// Features with no value in any training row (a service never called in the normal
    /// period): the model knows nothing of them, so their cells are always treated as empty
    /// (filled with 0 in the training rows and in new rows, never evidence).
    #[serde(default)]
    pub never_observed: Vec<bool>,
}

/// Rows with their gaps filled and, per row and feature, whether the value was observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Filled {
    pub rows: Vec<Vec<f64>>,
    pub observed: Vec<Vec<bool>>,
    /// How many cells were filled.
    pub filled: usize,
}

impl NormalValues {
    /// Learns the fills and constants from training rows whose empty cells are NaN, and fills
    /// those cells by drawing from the column's observed values (module docs). Fails on a
    /// feature with no observed value, or on any gap under [`Missing::Error`].
    pub fn fit(
        schema: &Schema,
        rows: &[Vec<f64>],
        policy: Missing,
        rng: &mut impl Rng,
    ) -> Result<(NormalValues, Filled)> {
        let d = schema.features.len();
        let mut fill = Vec::with_capacity(d);
        let mut constant = Vec::with_capacity(d);
        let mut never_observed = Vec::with_capacity(d);
        let mut observed_values: Vec<Vec<f64>> = Vec::with_capacity(d);
        for (j, f) in schema.features.iter().enumerate() {
            let mut vals: Vec<f64> = rows.iter().map(|r| r[j]).filter(|v| !v.is_nan()).collect();
            if vals.is_empty() {
                if policy == Missing::Error {
                    return Err(Error::invalid(format!(
                        "column '{}' has no value in the training rows (fit with --missing \
                         impute to keep it as a feature the model knows nothing about)",
                        f.name
                    )));
                }
                tracing::warn!(
                    column = %f.name,
                    "no value in the training rows: its cells are treated as empty"
                );
                fill.push(0.0);
                constant.push(None);
                never_observed.push(true);
                observed_values.push(vec![0.0]);
                continue;
            }
            if policy == Missing::Error && vals.len() < rows.len() {
                let r = rows.iter().position(|r| r[j].is_nan()).unwrap_or(0);
                return Err(Error::invalid(format!(
                    "training row {}, column '{}': missing value (fit with --missing impute to \
                     fill empty cells)",
                    r + 1,
                    f.name
                )));
            }
            let first = vals[0];
            constant.push(vals.iter().all(|&v| v == first).then_some(first));
            never_observed.push(false);
            // Both sort the values in place: the pool below is drawn from in sorted order.
            fill.push(match f.kind {
                FeatureType::Continuous => median(&mut vals),
                FeatureType::Binary | FeatureType::Categorical { .. } => mode(&mut vals),
            });
            observed_values.push(vals);
        }
        let mut filled = 0;
        let mut out = rows.to_vec();
        let mut observed = vec![vec![true; d]; rows.len()];
        // Row-major, so the draws (and the model) depend only on the seed and the data.
        for (r, row) in out.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                if v.is_nan() {
                    let pool = &observed_values[j];
                    *v = pool[rng.random_range(0..pool.len())];
                    observed[r][j] = false;
                    filled += 1;
                }
            }
        }
        Ok((
            NormalValues {
                policy,
                fill,
                constant,
                never_observed,
            },
            Filled {
                rows: out,
                observed,
                filled,
            },
        ))
    }

    /// Fills the empty (NaN) cells of new rows with [`NormalValues::fill`]; under
    /// [`Missing::Error`] a gap is refused, naming the row and the feature.
    pub fn fill(&self, schema: &Schema, rows: Vec<Vec<f64>>) -> Result<Filled> {
        let mut filled = 0;
        let mut observed = Vec::with_capacity(rows.len());
        let mut out = rows;
        for (r, row) in out.iter_mut().enumerate() {
            let mut seen = vec![true; row.len()];
            for (j, v) in row.iter_mut().enumerate() {
                if self.never_observed.get(j).copied().unwrap_or(false) {
                    *v = self.fill[j];
                    seen[j] = false;
                    continue;
                }
                if v.is_nan() {
                    if self.policy == Missing::Error {
                        return Err(Error::invalid(format!(
                            "row {}, column '{}': missing value (the model was fitted with \
                             --missing error)",
                            r + 1,
                            schema.features[j].name
                        )));
                    }
                    *v = self.fill[j];
                    seen[j] = false;
                    filled += 1;
                }
            }
            observed.push(seen);
        }
        Ok(Filled {
            rows: out,
            observed,
            filled,
        })
    }

    /// How far feature `j`'s value `v` moved from the constant `c` it held in every normal
    /// row: `|v − c| / |c|` (`|v|` when `c = 0`), 0 when equal within a relative 1e-9; `None`
    /// when the feature varied in the normal rows.
    pub fn constant_move(&self, j: usize, v: f64) -> Option<f64> {
        let c = self.constant.get(j).copied().flatten()?;
        if (v - c).abs() <= 1e-9 * c.abs().max(f64::MIN_POSITIVE) {
            return Some(0.0);
        }
        Some(if c == 0.0 {
            v.abs()
        } else {
            (v - c).abs() / c.abs()
        })
    }
}

/// Median of a non-empty sample (sorted in place).
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        0.5 * (v[m - 1] + v[m])
    } else {
        v[m]
    }
}

/// Most frequent value of a non-empty sample (the smallest among equals; sorted in place).
fn mode(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let (mut best, mut best_n) = (v[0], 0);
    let mut i = 0;
    while i < v.len() {
        let k = v[i..].iter().take_while(|&&x| x == v[i]).count();
        if k > best_n {
            (best, best_n) = (v[i], k);
        }
        i += k;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::schema::Feature;

    fn schema() -> Schema {
        let f = |name: &str| Feature::continuous(name, 1.0);
        Schema::new(vec![f("a"), f("b"), f("c")]).unwrap()
    }

    #[test]
    fn training_gaps_are_drawn_from_the_column_and_new_gaps_take_the_median() {
        let nan = f64::NAN;
        let rows = vec![
            vec![1.0, 5.0, 7.0],
            vec![2.0, nan, 7.0],
            vec![3.0, 6.0, nan],
            vec![10.0, nan, 7.0],
        ];
        let mut rng = remedy_core::seed::child(1, "t");
        let (nv, f) = NormalValues::fit(&schema(), &rows, Missing::Impute, &mut rng).unwrap();
        assert_eq!(f.filled, 3);
        assert!([5.0, 6.0].contains(&f.rows[1][1]) && [5.0, 6.0].contains(&f.rows[3][1]));
        assert_eq!(f.rows[2][2], 7.0);
        assert_eq!(f.observed[1], vec![true, false, true]);
        assert_eq!(nv.fill, vec![2.5, 5.5, 7.0]);
        assert_eq!(nv.constant, vec![None, None, Some(7.0)]);
        assert_eq!(nv.constant_move(2, 7.0), Some(0.0));
        assert_eq!(nv.constant_move(2, 7.5), Some(0.5 / 7.0));
        assert_eq!(nv.constant_move(0, 7.5), None);
        let g = nv.fill(&schema(), vec![vec![nan, 1.0, 2.0]]).unwrap();
        assert_eq!(g.rows[0], vec![2.5, 1.0, 2.0]);
        assert_eq!(g.observed[0], vec![false, true, true]);
        assert_eq!(g.filled, 1);
    }

    #[test]
    fn refusals_name_the_column() {
        let nan = f64::NAN;
        let mut rng = remedy_core::seed::child(1, "t");
        let rows = vec![vec![1.0, nan, 2.0], vec![2.0, nan, 3.0]];
        let e = NormalValues::fit(&schema(), &rows, Missing::Error, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'b'") && e.contains("no value"), "{e}");
        // Imputing, a column with no value is kept as one the model knows nothing about:
        // its cells, filled or not, are never observed.
        let (nv, f) = NormalValues::fit(&schema(), &rows, Missing::Impute, &mut rng).unwrap();
        assert_eq!(nv.never_observed, vec![false, true, false]);
        assert_eq!((f.rows[0][1], f.rows[1][1]), (0.0, 0.0));
        let g = nv.fill(&schema(), vec![vec![1.0, 42.0, 2.0]]).unwrap();
        assert_eq!(g.rows[0], vec![1.0, 0.0, 2.0]);
        assert_eq!(g.observed[0], vec![true, false, true]);
        let rows = vec![vec![1.0, 1.0, 2.0], vec![2.0, nan, 3.0]];
        let e = NormalValues::fit(&schema(), &rows, Missing::Error, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2") && e.contains("'b'"), "{e}");
        let (nv, _) = NormalValues::fit(
            &schema(),
            &[vec![1.0, 1.0, 2.0], vec![2.0, 3.0, 3.0]],
            Missing::Error,
            &mut rng,
        )
        .unwrap();
        let e = nv
            .fill(&schema(), vec![vec![1.0, nan, 1.0]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1") && e.contains("'b'"), "{e}");
    }
}
