//! The C-CHVAE-style counterfactual search baseline (RootCLAM spec §7.3; Pawelczyk et al.,
//! WWW 2020): a VAE is trained on the (normal) training rows; for an anomalous row, latent
//! points are drawn in growing ℓp shells around the posterior mean z = μ(x), decoded, and the
//! closest decoded row the detector calls normal is returned.
//!
//! Choices where the paper and CARLA leave room (documented for the reproduction):
//! - **Shells.** Round t (0-based) draws `samples` points uniformly (by volume) in the shell
//!   t·step < ‖δ‖_p ≤ (t + 1)·step: the direction from the cone measure (coordinates with
//!   density ∝ exp(−|y|^p), normalised to unit ℓp norm) and the radius with density ∝ r^(k−1)
//!   on the shell (k the latent dimension). CARLA instead normalises Gaussian directions and
//!   draws the radius uniformly; both grow the same shells.
//! - **Decoding to raw rows.** Continuous columns are mapped back to raw units and clamped to
//!   the schema's `lower`/`upper` bounds; binary columns are 1 when the decoded probability is
//!   ≥ 0.5; categorical features take the argmax level (the first on ties). With
//!   `hold_immutable` (the default) every non-actionable feature is then reset to the factual's
//!   value, so a recommendation never asks to change, say, age or gender; the paper's
//!   unrestricted search is `hold_immutable = false`.
//! - **Distance.** Among the flipped candidates of the first shell that has any, the one with
//!   the smallest d(x′, x) = ‖(x′_c − x_c)/sd_c‖₂ over continuous features (sd the encoder's
//!   scale) + the number of binary/categorical features that changed; ties go to the earlier
//!   sample.
//! - **Randomness.** Each row gets its own generator seeded from `rng` in row order, so a row's
//!   result does not depend on how many rows are searched with it, and the same seed gives the
//!   same output bit for bit.
//! - The search does not first test the factual itself: callers pass rows the detector flagged.

use std::path::Path;

use rand::Rng;
use remedy_core::encode::{FeatureEncoding, TabularEncoder};
use remedy_core::{Error, FeatureType, Result, Schema, seed};
use remedy_nn::Observer;
use remedy_nn::store;
use remedy_nn::vae::{ColumnKind, Vae, VaeConfig};
use serde::{Deserialize, Serialize};

/// Decoded candidates per batch handed to the VAE and the detector (rows are grouped so that a
/// group's samples per round stay below this).
const CANDIDATES_PER_CALL: usize = 32_768;

/// A batch detector verdict: for raw rows, whether each is normal (g(x) ≤ τ), one per row.
pub type Detector<'a> = dyn Fn(&[Vec<f64>]) -> Result<Vec<bool>> + 'a;

/// C-CHVAE settings: the VAE and the latent search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CchvaeConfig {
    /// The generative model (defaults: CARLA's layers [512, 256, 8], lr 1e-3, `lambda_reg`
    /// 1e-6).
    pub vae: VaeConfig,
    /// Latent samples per shell (CARLA `n_search_samples`; spec §7.3 gives 100–300).
    pub samples: usize,
    /// p of the ℓp shells, ≥ 1 (CARLA `p_norm` 1).
    pub p_norm: f64,
    /// Radius growth per shell (CARLA `step` 0.1).
    pub step: f64,
    /// Number of shells before giving up (CARLA `max_iter` 1000).
    pub max_iter: usize,
    /// Reset non-actionable features to the factual's values (default); `false` is the
    /// paper's unrestricted search over all features.
    pub hold_immutable: bool,
}

impl Default for CchvaeConfig {
    /// CARLA's defaults (spec §7.3): 300 samples per shell, p = 1, step 0.1, 1000 shells; the
    /// VAE of [`VaeConfig::default`]; immutable features held.
    fn default() -> Self {
        CchvaeConfig {
            vae: VaeConfig::default(),
            samples: 300,
            p_norm: 1.0,
            step: 0.1,
            max_iter: 1000,
            hold_immutable: true,
        }
    }
}

impl CchvaeConfig {
    /// Checks the search settings.
    pub fn validate(&self) -> Result<()> {
        if self.samples == 0 {
            return Err(Error::invalid(
                "C-CHVAE: samples per shell must be at least 1",
            ));
        }
        if !(self.p_norm.is_finite() && self.p_norm >= 1.0) {
            return Err(Error::invalid(format!(
                "C-CHVAE: p_norm is {}, it must be a finite number ≥ 1",
                self.p_norm
            )));
        }
        if !(self.step.is_finite() && self.step > 0.0) {
            return Err(Error::invalid(format!(
                "C-CHVAE: step is {}, it must be a positive number",
                self.step
            )));
        }
        if self.max_iter == 0 {
            return Err(Error::invalid("C-CHVAE: max_iter must be at least 1"));
        }
        Ok(())
    }

    /// Fits the encoder on `train` rows (raw, schema order) and trains the VAE on them,
    /// selecting the epoch by the loss on `valid` rows.
    pub fn fit<R: Rng + ?Sized>(
        &self,
        schema: &Schema,
        train: &[Vec<f64>],
        valid: &[Vec<f64>],
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<Cchvae> {
        self.validate()?;
        if train.is_empty() {
            return Err(Error::invalid("C-CHVAE needs at least one training row"));
        }
        if train.iter().any(|r| r.len() != schema.features.len()) {
            return Err(Error::invalid(format!(
                "C-CHVAE: a training row does not have the schema's {} features",
                schema.features.len()
            )));
        }
        let encoder = TabularEncoder::fit(schema, train)?;
        let xt = encoder.encode(train)?;
        let xv = encoder.encode(valid)?;
        let vae = self.vae.fit(&layout(&encoder), &xt, &xv, rng, observer)?;
        Ok(Cchvae {
            config: self.clone(),
            schema: schema.clone(),
            encoder,
            vae,
        })
    }
}

/// The VAE column layout of an encoder.
fn layout(encoder: &TabularEncoder) -> Vec<ColumnKind> {
    encoder
        .features
        .iter()
        .map(|f| match f {
            FeatureEncoding::Standard { .. } | FeatureEncoding::MinMax { .. } => {
                ColumnKind::Continuous
            }
            FeatureEncoding::Binary => ColumnKind::Binary,
            FeatureEncoding::OneHot { levels } => ColumnKind::Categorical { levels: *levels },
        })
        .collect()
}

/// A fitted C-CHVAE searcher.
#[derive(Debug, Clone)]
pub struct Cchvae {
    pub config: CchvaeConfig,
    pub schema: Schema,
    pub encoder: TabularEncoder,
    pub vae: Vae,
}

impl Cchvae {
    /// For each raw row, the closest decoded counterfactual that `is_normal` accepts (see the
    /// module documentation), or `None` when `max_iter` shells found none. `is_normal` gets
    /// batches of raw rows and must return one verdict per row.
    pub fn search<R: Rng + ?Sized>(
        &self,
        rows: &[Vec<f64>],
        is_normal: &Detector<'_>,
        rng: &mut R,
    ) -> Result<Vec<Option<Vec<f64>>>> {
        self.config.validate()?;
        if self.config.hold_immutable && !self.schema.features.iter().any(|f| f.actionable) {
            return Err(Error::invalid(
                "C-CHVAE holds non-actionable features fixed, and no feature is actionable",
            ));
        }
        if self.schema.features.len() != self.encoder.n_features() {
            return Err(Error::invalid(
                "C-CHVAE: the schema and the encoder disagree on the number of features",
            ));
        }
        let x = self.encoder.encode(rows)?;
        let z0 = self.vae.encode_mean(&x)?;
        let k = self.vae.latent();
        let mut rngs: Vec<seed::RemedyRng> = rows
            .iter()
            .map(|_| seed::rng(rng.random::<u64>()))
            .collect();
        let mut out = vec![None; rows.len()];
        let group = (CANDIDATES_PER_CALL / self.config.samples).max(1);
        let all: Vec<usize> = (0..rows.len()).collect();
        for ids in all.chunks(group) {
            self.search_group(ids, rows, &z0, k, is_normal, &mut rngs, &mut out)?;
        }
        tracing::debug!(
            rows = rows.len(),
            found = out.iter().filter(|o| o.is_some()).count(),
            "c-chvae search"
        );
        Ok(out)
    }

    /// Runs the shells for the rows `ids` together, one decode and one detector call a shell.
    #[allow(clippy::too_many_arguments)]
    fn search_group(
        &self,
        ids: &[usize],
        rows: &[Vec<f64>],
        z0: &[f32],
        k: usize,
        is_normal: &Detector<'_>,
        rngs: &mut [seed::RemedyRng],
        out: &mut [Option<Vec<f64>>],
    ) -> Result<()> {
        let cfg = &self.config;
        let s = cfg.samples;
        let mut active: Vec<usize> = ids.to_vec();
        for t in 0..cfg.max_iter {
            let (lo, hi) = (t as f64 * cfg.step, (t + 1) as f64 * cfg.step);
            let mut z = Vec::with_capacity(active.len() * s * k);
            for &i in &active {
                let centre = &z0[i * k..(i + 1) * k];
                for _ in 0..s {
                    let d = shell_sample(k, cfg.p_norm, lo, hi, &mut rngs[i]);
                    z.extend(centre.iter().zip(&d).map(|(&c, &v)| c + v as f32));
                }
            }
            let decoded = self.vae.decode(&z)?;
            let width = self.encoder.width();
            let mut cands = Vec::with_capacity(active.len() * s);
            for (a, &i) in active.iter().enumerate() {
                for j in 0..s {
                    let r = a * s + j;
                    cands.push(self.to_raw(&decoded[r * width..(r + 1) * width], &rows[i]));
                }
            }
            let flags = is_normal(&cands)?;
            if flags.len() != cands.len() {
                return Err(Error::invalid(format!(
                    "C-CHVAE: the detector returned {} verdicts for {} rows",
                    flags.len(),
                    cands.len()
                )));
            }
            let mut still = Vec::with_capacity(active.len());
            for (a, &i) in active.iter().enumerate() {
                let mut best: Option<(f64, usize)> = None;
                for j in 0..s {
                    let r = a * s + j;
                    if flags[r] {
                        let d = self.distance(&cands[r], &rows[i]);
                        if best.is_none_or(|(b, _)| d < b) {
                            best = Some((d, r));
                        }
                    }
                }
                match best {
                    Some((_, r)) => out[i] = Some(std::mem::take(&mut cands[r])),
                    None => still.push(i),
                }
            }
            tracing::trace!(shell = t, open = still.len(), "c-chvae shell");
            active = still;
            if active.is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// A decoded encoded row back to raw values, with held features reset to `factual`.
    fn to_raw(&self, enc: &[f32], factual: &[f64]) -> Vec<f64> {
        let offsets = self.encoder.offsets();
        self.encoder
            .features
            .iter()
            .zip(&self.schema.features)
            .enumerate()
            .map(|(j, (e, f))| {
                if self.config.hold_immutable && !f.actionable {
                    return factual[j];
                }
                let o = offsets[j];
                let v = f64::from(enc[o]);
                match e {
                    FeatureEncoding::Standard { mean, sd } => clamp(v * sd + mean, f),
                    FeatureEncoding::MinMax { min, max } => {
                        let range = if max > min { max - min } else { 1.0 };
                        clamp(v * range + min, f)
                    }
                    FeatureEncoding::Binary => {
                        if v >= 0.5 {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    FeatureEncoding::OneHot { levels } => {
                        let block = &enc[o..o + levels];
                        let mut arg = 0;
                        for (l, &p) in block.iter().enumerate() {
                            if p > block[arg] {
                                arg = l;
                            }
                        }
                        arg as f64
                    }
                }
            })
            .collect()
    }

    /// d(a, b) = ℓ2 distance over continuous features in encoder units (raw difference / sd,
    /// or / range for min-max scaling) + the number of differing binary and categorical
    /// features. Rows must have the schema's length.
    pub fn distance(&self, a: &[f64], b: &[f64]) -> f64 {
        let mut sq = 0.0;
        let mut changed = 0usize;
        for ((e, &x), &y) in self.encoder.features.iter().zip(a).zip(b) {
            match e {
                FeatureEncoding::Standard { sd, .. } => sq += ((x - y) / sd).powi(2),
                FeatureEncoding::MinMax { min, max } => {
                    let range = if max > min { max - min } else { 1.0 };
                    sq += ((x - y) / range).powi(2);
                }
                FeatureEncoding::Binary | FeatureEncoding::OneHot { .. } => {
                    changed += usize::from(x != y)
                }
            }
        }
        sq.sqrt() + changed as f64
    }

    /// Writes `dir/NAME.safetensors` and `dir/NAME.json` (kind `cchvae`).
    pub fn save(&self, dir: &Path, name: &str) -> Result<()> {
        let payload = serde_json::json!({
            "config": self.config,
            "schema": self.schema,
            "encoder": self.encoder,
            "report": self.vae.report,
        });
        store::save(dir, name, "cchvae", payload, &self.vae.named_tensors("vae"))
    }

    /// Reads a searcher written by [`Cchvae::save`].
    pub fn load(dir: &Path, name: &str) -> Result<Self> {
        let (payload, mut tensors) = store::load(dir, name, "cchvae")?;
        let config: CchvaeConfig = store::field(&payload, "config", "cchvae", dir)?;
        let schema: Schema = store::field(&payload, "schema", "cchvae", dir)?;
        let encoder: TabularEncoder = store::field(&payload, "encoder", "cchvae", dir)?;
        let report = store::field(&payload, "report", "cchvae", dir)?;
        schema.validate()?;
        let vae = Vae::from_named(
            config.vae.clone(),
            layout(&encoder),
            report,
            "vae",
            &mut tensors,
        )?;
        Ok(Cchvae {
            config,
            schema,
            encoder,
            vae,
        })
    }
}

/// A continuous value clamped to the feature's bounds.
fn clamp(v: f64, f: &remedy_core::Feature) -> f64 {
    debug_assert!(matches!(f.kind, FeatureType::Continuous));
    let v = f.lower.map_or(v, |lo| v.max(lo));
    f.upper.map_or(v, |hi| v.min(hi))
}

/// One point uniform (by volume) in the ℓp shell lo ≤ ‖δ‖_p < hi of dimension `k`.
fn shell_sample<R: Rng + ?Sized>(k: usize, p: f64, lo: f64, hi: f64, rng: &mut R) -> Vec<f64> {
    // Direction from the cone measure: |y_i| = G^(1/p) with G ~ Gamma(1/p, 1), random signs
    // (Schechtman & Zinn 1990); p = 1 and 2 use Laplace and Gaussian draws directly.
    let mut y: Vec<f64> = (0..k)
        .map(|_| {
            let m = if p == 1.0 {
                -(1.0 - rng.random::<f64>()).ln()
            } else if p == 2.0 {
                gaussian(rng).abs()
            } else {
                gamma(1.0 / p, rng).powf(1.0 / p)
            };
            if rng.random::<bool>() { m } else { -m }
        })
        .collect();
    let norm = y.iter().map(|v| v.abs().powf(p)).sum::<f64>().powf(1.0 / p);
    let kf = k as f64;
    let u: f64 = rng.random();
    let r = (lo.powf(kf) + u * (hi.powf(kf) - lo.powf(kf))).powf(1.0 / kf);
    if norm > 0.0 && norm.is_finite() {
        for v in &mut y {
            *v *= r / norm;
        }
    } else {
        // Probability zero; keep the point on the shell anyway.
        y.iter_mut().for_each(|v| *v = 0.0);
        if let Some(first) = y.first_mut() {
            *first = r;
        }
    }
    y
}

/// A standard normal draw (Box–Muller).
fn gaussian<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Gamma(shape, 1) draw (Marsaglia & Tsang 2000; shape < 1 by the U^(1/shape) boost).
fn gamma<R: Rng + ?Sized>(shape: f64, rng: &mut R) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.random::<f64>();
        return gamma(shape + 1.0, rng) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = gaussian(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.random::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::Feature;
    use remedy_nn::NoObserver;
    use remedy_nn::train::TrainConfig;

    fn feature(name: &str, kind: FeatureType, actionable: bool) -> Feature {
        Feature {
            name: name.into(),
            kind,
            actionable,
            cost: 1.0,
            lower: None,
            upper: None,
        }
    }

    /// x0 (actionable), x1 = 0.5·x0 + noise (held), b binary (held), k 3 levels (actionable).
    fn schema() -> Schema {
        Schema::new(vec![
            feature("x0", FeatureType::Continuous, true),
            feature("x1", FeatureType::Continuous, false),
            feature("b", FeatureType::Binary, false),
            feature(
                "k",
                FeatureType::Categorical {
                    levels: vec!["p".into(), "q".into(), "r".into()],
                },
                true,
            ),
        ])
        .unwrap()
    }

    fn rows(n: usize, s: u64) -> Vec<Vec<f64>> {
        let mut rng = seed::rng(s);
        (0..n)
            .map(|_| {
                let a = gaussian(&mut rng);
                let b = 0.5 * a + 0.3 * gaussian(&mut rng);
                let bin = f64::from(u8::from(rng.random::<f64>() < 0.4));
                let k = if a < -0.4 {
                    0.0
                } else {
                    rng.random_range(1..3) as f64
                };
                vec![a, b, bin, k]
            })
            .collect()
    }

    fn config() -> CchvaeConfig {
        CchvaeConfig {
            vae: VaeConfig {
                hidden: vec![32, 16],
                latent: 3,
                train: TrainConfig {
                    epochs: 30,
                    batch_size: 64,
                    learning_rate: 3e-3,
                    ..VaeConfig::default().train
                },
                ..VaeConfig::default()
            },
            samples: 50,
            max_iter: 200,
            ..CchvaeConfig::default()
        }
    }

    fn fitted() -> Cchvae {
        config()
            .fit(
                &schema(),
                &rows(1000, 1),
                &rows(200, 2),
                &mut seed::rng(3),
                &mut NoObserver,
            )
            .unwrap()
    }

    fn below_one(rows: &[Vec<f64>]) -> Result<Vec<bool>> {
        Ok(rows.iter().map(|r| r[0] < 1.0).collect())
    }

    #[test]
    fn cchvae_finds_a_normal_counterfactual_with_held_features() {
        let m = fitted();
        let factual = vec![
            vec![3.0, 1.5, 1.0, 0.0],
            vec![3.5, -0.2, 0.0, 2.0],
            vec![2.0, 1.0, 1.0, 1.0],
        ];
        let out = m.search(&factual, &below_one, &mut seed::rng(7)).unwrap();
        assert_eq!(out.len(), 3);
        for (f, cf) in factual.iter().zip(&out) {
            let cf = cf.as_ref().expect("a counterfactual is found");
            assert!(cf[0] < 1.0, "{cf:?}");
            assert_eq!((cf[1], cf[2]), (f[1], f[2]), "held features move: {cf:?}");
            assert!([0.0, 1.0, 2.0].contains(&cf[3]), "{cf:?}");
            // Not absurdly far: the boundary is 2 sd away for the first row.
            assert!(m.distance(cf, f) < 10.0, "{cf:?}");
        }
        // Same seed, same bits; a row's result does not depend on its companions.
        let again = m.search(&factual, &below_one, &mut seed::rng(7)).unwrap();
        assert_eq!(out, again);
        let other = m.search(&factual, &below_one, &mut seed::rng(8)).unwrap();
        assert_ne!(out, other);

        // The unrestricted variant may move every feature, and still flips.
        let free = Cchvae {
            config: CchvaeConfig {
                hold_immutable: false,
                ..m.config.clone()
            },
            ..m.clone()
        };
        let out = free
            .search(&factual, &below_one, &mut seed::rng(7))
            .unwrap();
        assert!(out.iter().all(|c| c.as_ref().is_some_and(|c| c[0] < 1.0)));

        // Save and load give the same searcher.
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path(), "cchvae").unwrap();
        let back = Cchvae::load(dir.path(), "cchvae").unwrap();
        assert_eq!(
            back.search(&factual, &below_one, &mut seed::rng(7))
                .unwrap(),
            again
        );
    }

    #[test]
    fn cchvae_gives_none_and_errors_on_bad_input() {
        let m = Cchvae {
            config: CchvaeConfig {
                max_iter: 3,
                ..config()
            },
            ..fitted()
        };
        let calls = std::cell::Cell::new(0);
        let never = |r: &[Vec<f64>]| {
            calls.set(calls.get() + 1);
            Ok(vec![false; r.len()])
        };
        let out = m
            .search(&[vec![3.0, 1.5, 1.0, 0.0]], &never, &mut seed::rng(1))
            .unwrap();
        assert_eq!(out, vec![None]);
        assert_eq!(calls.get(), 3);
        assert_eq!(
            m.search(&[], &never, &mut seed::rng(1)).unwrap(),
            Vec::<Option<Vec<f64>>>::new()
        );

        let mut rng = seed::rng(1);
        let e = m
            .search(&[vec![3.0, 1.5, 1.0]], &below_one, &mut rng)
            .unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let e = m
            .search(&[vec![f64::NAN, 1.5, 1.0, 0.0]], &below_one, &mut rng)
            .unwrap_err();
        assert!(e.to_string().contains("'x0'"), "{e}");
        let short = |r: &[Vec<f64>]| Ok(vec![true; r.len() / 2]);
        let e = m
            .search(&[vec![3.0, 1.5, 1.0, 0.0]], &short, &mut rng)
            .unwrap_err();
        assert!(e.to_string().contains("verdicts"), "{e}");
        let failing = |_: &[Vec<f64>]| Err(Error::invalid("detector down"));
        assert!(
            m.search(&[vec![3.0, 1.5, 1.0, 0.0]], &failing, &mut rng)
                .is_err()
        );
        let bad = Cchvae {
            config: CchvaeConfig {
                step: 0.0,
                ..m.config.clone()
            },
            ..m.clone()
        };
        assert!(
            bad.search(&[vec![3.0, 1.5, 1.0, 0.0]], &below_one, &mut rng)
                .is_err()
        );
        // Fitting refuses bad rows too.
        let mut train = rows(50, 4);
        train[7][1] = f64::INFINITY;
        assert!(
            config()
                .fit(&schema(), &train, &[], &mut rng, &mut NoObserver)
                .is_err()
        );
        assert!(
            config()
                .fit(&schema(), &[vec![1.0]], &[], &mut rng, &mut NoObserver)
                .is_err()
        );
        assert!(
            config()
                .fit(&schema(), &[], &[], &mut rng, &mut NoObserver)
                .is_err()
        );
    }

    /// Timing on a Loan-sized problem (10,000 normal rows, 8,000/2,000 split, default
    /// config; 180 anomalies; the true approval y > 0.9 stands in for the detector). Run with
    /// `cargo test --release -p remedy-recourse cchvae_loan -- --ignored --nocapture`.
    #[test]
    #[ignore = "about 10 s of CPU; measures fit and search time"]
    fn cchvae_loan_timing() {
        use remedy_data::scm::Scm;
        let loan = remedy_data::Loan::new();
        let b = remedy_data::tabular::generate(
            &loan,
            &remedy_data::tabular::TabularSizes::default(),
            &mut seed::rng(1),
        )
        .unwrap();
        let schema = remedy_data::tabular::schema(&loan).unwrap();
        let (train, valid) = b.train.split_at(8000);
        let t = std::time::Instant::now();
        let m = CchvaeConfig::default()
            .fit(&schema, train, valid, &mut seed::rng(2), &mut NoObserver)
            .unwrap();
        let fit_s = t.elapsed().as_secs_f64();
        let anomalies: Vec<Vec<f64>> = b
            .test
            .iter()
            .zip(&b.test_group)
            .filter(|(_, g)| g.is_some())
            .map(|(r, _)| r.clone())
            .take(180)
            .collect();
        let calls = std::cell::Cell::new(0usize);
        let detector = |rows: &[Vec<f64>]| {
            calls.set(calls.get() + 1);
            Ok(rows.iter().map(|r| loan.label(r) > 0.9).collect())
        };
        let t = std::time::Instant::now();
        let out = m.search(&anomalies, &detector, &mut seed::rng(3)).unwrap();
        let search_s = t.elapsed().as_secs_f64();
        let found: Vec<f64> = out
            .iter()
            .zip(&anomalies)
            .filter_map(|(c, f)| c.as_ref().map(|c| m.distance(c, f)))
            .collect();
        eprintln!(
            "loan: fit {fit_s:.1} s ({} epochs, best {}, valid {:.4}); search {search_s:.1} s, \
             {} detector calls, found {}/{}, mean distance {:.3}",
            m.vae.report.epochs_run,
            m.vae.report.best_epoch,
            m.vae.report.best_valid_loss,
            calls.get(),
            found.len(),
            anomalies.len(),
            found.iter().sum::<f64>() / found.len().max(1) as f64
        );
        assert!(!found.is_empty());
    }

    /// Shell samples lie in their shell for several p, and fill it: the mean radius of a
    /// uniform-by-volume shell sample in k dimensions matches its closed form.
    #[test]
    fn cchvae_shell_samples_lie_in_their_shell() {
        let mut rng = seed::rng(11);
        for &p in &[1.0, 1.5, 2.0, 3.0] {
            let (lo, hi, k) = (0.5, 0.6, 4usize);
            let mut mean = 0.0;
            let n = 4000;
            for _ in 0..n {
                let d = shell_sample(k, p, lo, hi, &mut rng);
                let r = d.iter().map(|v| v.abs().powf(p)).sum::<f64>().powf(1.0 / p);
                assert!(r >= lo - 1e-9 && r <= hi + 1e-9, "p {p}: {r}");
                mean += r / n as f64;
            }
            // E[r] for density ∝ r^(k−1) on [lo, hi].
            let kf = k as f64;
            let expect = kf / (kf + 1.0) * (hi.powf(kf + 1.0) - lo.powf(kf + 1.0))
                / (hi.powf(kf) - lo.powf(kf));
            assert!((mean - expect).abs() < 2e-3, "p {p}: {mean} vs {expect}");
        }
        // Directions are symmetric: the mean of each coordinate is near 0.
        let mut m = [0.0; 3];
        for _ in 0..4000 {
            let d = shell_sample(3, 1.0, 0.0, 1.0, &mut rng);
            for (a, b) in m.iter_mut().zip(&d) {
                *a += b / 4000.0;
            }
        }
        assert!(m.iter().all(|v| v.abs() < 0.03), "{m:?}");
    }
}
