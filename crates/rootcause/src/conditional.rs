//! The quantile rule with a reference conditional on the parents: each candidate's noise is
//! compared with the noise of the `k` normal rows whose parents are nearest the row's, not with
//! all normal rows.
//!
//! # Why (a departure from the paper's marginal rule, RootCLAM §3.3)
//!
//! In the SCM the noise `u_i` is independent of the parents, so for the true noise the
//! conditional and the marginal reference agree (up to the selection of the normal rows). A
//! learned abduction is not so clean: VACA's latent `z_i` still moves with its parents, so an
//! anomalous parent makes a normal child look abnormal. On Adult, with the marginal rule, VACA
//! flagged education in 57 of the 61 rows where it was not a root cause but an ancestor (age)
//! was; on Loan, loan duration in 31 of 45. Against normal rows with similar parents that drift
//! is the norm, and no longer flagged. Measured with the autoencoder, seed 1, `k` = 200 (F1;
//! marginal → conditional): VACA Loan 0.775 → 0.809, Adult 0.795 → 0.812; the oracle 0.830 →
//! 0.831 and 0.858 → 0.858; ANM 0.826 → 0.828 and 0.840 → 0.840 (all seeds in docs/RESULTS.md).
//!
//! # The statistic
//!
//! Distances between rows are Euclidean over the parents' encoded columns (continuous
//! standardised on the normal rows, categorical one-hot, binary 0/1). For candidate `i` and a
//! row, the `k` nearest normal rows (ties broken by row order) form the reference, and the tail
//! is computed exactly as the marginal rule does on that reference ([`crate::quantile`]:
//! two-sided mid-rank tail for a one-value block, Mahalanobis upper tail for a multi-value
//! block, under the neighbours' own mean and ridge-regularised covariance). A candidate without
//! parents keeps the marginal reference of all normal rows.

use remedy_core::encode::TabularEncoder;
use remedy_core::traits::CausalModel;
use remedy_core::{Error, Result, Schema};

use crate::quantile::{BlockReference, NoiseQuantileConfig, ReferenceFit, flag, tail_score};
use crate::{RootCauseLocator, block_offsets, check_fit_inputs};

/// The quantile locator with parent-conditional references (module docs).
pub struct ConditionalQuantileLocator<'a, M: CausalModel + ?Sized> {
    model: &'a M,
    candidates: Vec<usize>,
    pi: f64,
    ridge: f64,
    k: usize,
    encoder: TabularEncoder,
    /// Encoded columns of each candidate's parents (empty: marginal reference).
    parent_columns: Vec<Vec<usize>>,
    /// Per candidate, the marginal reference fitted once when it has no parents.
    marginal: Vec<Option<BlockReference>>,
    /// Encoded normal rows.
    normal_encoded: Vec<Vec<f32>>,
    /// Abducted noise of the normal rows.
    normal_noise: Vec<Vec<f64>>,
    dims: Vec<usize>,
}

impl NoiseQuantileConfig {
    /// Fits the rule with references conditional on the parents (module docs): `parents[j]`
    /// lists node `j`'s parents (indices into a row), `neighbours` is `k`. The one-value
    /// reference is always empirical here.
    pub fn fit_conditional<'a, M: CausalModel + ?Sized>(
        &self,
        model: &'a M,
        schema: &Schema,
        parents: &[Vec<usize>],
        normal_rows: &[Vec<f64>],
        candidates: &[usize],
        neighbours: usize,
    ) -> Result<ConditionalQuantileLocator<'a, M>> {
        self.validate()?;
        let dims = check_fit_inputs(
            model,
            normal_rows,
            candidates,
            "fit the root-cause reference on",
        )?;
        let n_nodes = dims.len();
        if parents.len() != n_nodes || schema.features.len() != n_nodes {
            return Err(Error::invalid(format!(
                "the conditional root-cause rule needs the parents and the schema of all {n_nodes} \
                 features; got {} parent lists and {} schema features",
                parents.len(),
                schema.features.len()
            )));
        }
        if let Some((j, &p)) = parents
            .iter()
            .enumerate()
            .find_map(|(j, ps)| ps.iter().find(|&&p| p >= n_nodes || p == j).map(|p| (j, p)))
        {
            return Err(Error::invalid(format!(
                "feature {j} lists parent {p}, which is not another of the {n_nodes} features"
            )));
        }
        if neighbours < 2 || neighbours > normal_rows.len() {
            return Err(Error::invalid(format!(
                "the conditional root-cause rule needs between 2 and {} neighbours (the normal \
                 rows), got {neighbours}",
                normal_rows.len()
            )));
        }
        let encoder = TabularEncoder::fit(schema, normal_rows)?;
        let offsets = encoder.offsets();
        let width = |j: usize| offsets.get(j + 1).copied().unwrap_or(encoder.width()) - offsets[j];
        let parent_columns = candidates
            .iter()
            .map(|&c| {
                parents[c]
                    .iter()
                    .flat_map(|&p| offsets[p]..offsets[p] + width(p))
                    .collect()
            })
            .collect();
        let w = encoder.width();
        let normal_encoded = encoder
            .encode(normal_rows)?
            .chunks(w)
            .map(<[f32]>::to_vec)
            .collect();
        let normal_noise = model.abduct_batch(normal_rows)?;
        crate::quantile::check_noise(&normal_noise, &dims, "normal noise row")
            .map_err(|e| Error::invalid(format!("abducted noise of the normal rows: {e}")))?;
        let starts = block_offsets(&dims);
        let marginal = candidates
            .iter()
            .zip(&parent_columns)
            .map(|(&c, cols): (&usize, &Vec<usize>)| {
                if !cols.is_empty() {
                    return Ok(None);
                }
                let (start, k) = (starts[c], dims[c]);
                crate::quantile::fit_block(
                    &normal_noise,
                    start,
                    k,
                    ReferenceFit::Empirical,
                    self.ridge,
                )
                .map(Some)
                .ok_or_else(|| singular(c, k, normal_noise.len()))
            })
            .collect::<Result<_>>()?;
        Ok(ConditionalQuantileLocator {
            model,
            candidates: candidates.to_vec(),
            pi: self.pi,
            ridge: self.ridge,
            k: neighbours,
            encoder,
            parent_columns,
            marginal,
            normal_encoded,
            normal_noise,
            dims,
        })
    }
}

impl<M: CausalModel + ?Sized> std::fmt::Debug for ConditionalQuantileLocator<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConditionalQuantileLocator")
            .field("candidates", &self.candidates)
            .field("pi", &self.pi)
            .field("neighbours", &self.k)
            .field("reference_rows", &self.normal_noise.len())
            .finish_non_exhaustive()
    }
}

impl<M: CausalModel + ?Sized> ConditionalQuantileLocator<'_, M> {
    /// The two-sided tail probability of each candidate's abducted noise, per row, under its
    /// conditional reference.
    pub fn tail_probabilities(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let noise = crate::abduct_rows(self.model, rows)?;
        crate::quantile::check_noise(&noise, &self.dims, "noise row")
            .map_err(|e| Error::invalid(format!("abducted noise: {e}")))?;
        let w = self.encoder.width();
        let encoded = self.encoder.encode(rows)?;
        let offsets = block_offsets(&self.dims);
        encoded
            .chunks(w)
            .zip(&noise)
            .map(|(x, u)| {
                self.candidates
                    .iter()
                    .zip(&self.parent_columns)
                    .zip(&self.marginal)
                    .map(|((&c, cols), marginal)| {
                        let (start, k) = (offsets[c], self.dims[c]);
                        let local;
                        let reference = match marginal {
                            Some(r) => r,
                            None => {
                                local = self
                                    .reference(&self.nearest(x, cols), start, k)
                                    .ok_or_else(|| singular(c, k, self.k))?;
                                &local
                            }
                        };
                        Ok(crate::quantile::block_tail(reference, &u[start..start + k]))
                    })
                    .collect()
            })
            .collect()
    }

    /// Indices of the `k` normal rows nearest `x` over `cols` (ties by row order).
    fn nearest(&self, x: &[f32], cols: &[usize]) -> Vec<usize> {
        let mut d: Vec<(f64, usize)> = self
            .normal_encoded
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let s: f64 = cols
                    .iter()
                    .map(|&c| (f64::from(e[c]) - f64::from(x[c])).powi(2))
                    .sum();
                (s, j)
            })
            .collect();
        let by = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        d.select_nth_unstable_by(self.k - 1, by);
        d.truncate(self.k);
        d.into_iter().map(|(_, j)| j).collect()
    }

    /// The marginal rule's reference fitted on the normal rows `rows` of block `start..start+k`.
    fn reference(&self, rows: &[usize], start: usize, k: usize) -> Option<BlockReference> {
        let noise: Vec<Vec<f64>> = rows
            .iter()
            .map(|&j| self.normal_noise[j][start..start + k].to_vec())
            .collect();
        crate::quantile::fit_block(&noise, 0, k, ReferenceFit::Empirical, self.ridge)
    }
}

/// The error for a reference whose covariance stays singular after the ridge.
fn singular(feature: usize, k: usize, rows: usize) -> Error {
    Error::invalid(format!(
        "the covariance of feature {feature}'s {k}-value noise block among its {rows} \
         reference normal rows is singular; raise the ridge"
    ))
}

impl<M: CausalModel + ?Sized> RootCauseLocator for ConditionalQuantileLocator<'_, M> {
    fn candidates(&self) -> &[usize] {
        &self.candidates
    }

    /// `−ln` of the smoothed tail, with the reference size `k` (or all normal rows for a
    /// candidate without parents).
    fn scores(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let sizes: Vec<f64> = self
            .marginal
            .iter()
            .map(|m| {
                if m.is_some() {
                    self.normal_noise.len() as f64
                } else {
                    self.k as f64
                }
            })
            .collect();
        Ok(self
            .tail_probabilities(rows)?
            .into_iter()
            .map(|ts| {
                ts.into_iter()
                    .zip(&sizes)
                    .map(|(t, &n)| tail_score(t, n))
                    .collect()
            })
            .collect())
    }

    /// Candidates whose conditional tail is below `2π`.
    fn locate(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<usize>>> {
        Ok(self
            .tail_probabilities(rows)?
            .into_iter()
            .map(|ts| flag(&self.candidates, &ts, self.pi))
            .collect())
    }
}
