//! An additive-noise model (ANM) learnt from normal data and a known DAG: one small regressor
//! per continuous node on its parents, `x_i = f_i(pa_i) + u_i`, so abduction is exact
//! (`u_i = x_i − f_i(pa_i)`) and a soft intervention gives `x_i' = f_i(pa_i') + u_i + θ_i`
//! (RootCLAM paper Eq. 2, applied in topological order). Binary and categorical nodes get a
//! classifier `p(x_i | pa_i)` and a monotone noise: `u_i` is the midpoint of the observed
//! category's interval of the predicted CDF, and a counterfactual category is the one whose
//! interval holds `u_i` under the new parents (a node whose parents did not change keeps its
//! value). Root nodes have a constant mechanism (the training mean, or the level frequencies).
//!
//! # Which regressor per node
//!
//! A continuous node with parents gets, by the smallest error on the held-out normal rows, one
//! of three regressors on its encoded parents: **linear** (least squares), **linear + network**
//! (a network on the linear fit's residuals, a skip connection) or **network** (the ReLU
//! network alone, the only choice before). Linear is kept unless the better of the other two
//! beats it on the held-out rows by a paired t statistic of at least [`LINEAR_T`] (on the
//! per-row differences of squared errors), because it is the only one whose extrapolation is
//! known:
//! a root cause shifted far outside the training data moves its children along the fitted
//! plane, whereas a network's output there follows the slope of whatever units were active at
//! the edge of the data, so a child of a far-off root cause gets a large abducted noise it
//! never had (a false root cause). A ratio of errors does not do: where the noise is large a
//! saturating mechanism (a sigmoid) improves the held-out error by only 1-2%, yet a linear
//! fit of it is far off 10 sd away (measured: 42 false root causes in 300 rows on one
//! 10-node graph with a 2% tolerance). Measured on linear-Gaussian DAGs and chains
//! (bench/rootcause_families.py, docs/RESULTS.md). A departure from RootCLAM, whose ANM
//! baseline is a network per node.

use rand::Rng;
use remedy_core::encode::{FeatureEncoding, TabularEncoder};
use remedy_core::schema::FeatureType;
use remedy_core::traits::CausalModel;
use remedy_core::{Dag, Error, Intervention, Result, Schema};
use remedy_nn::supervised::{Examples, Target, fit_mlp, predict};
use remedy_nn::{Mlp, MlpConfig, Observer, TrainConfig, TrainReport};

use crate::extrapolation::Extrapolation;
use crate::linreg::{Linear, mse};

use serde::{Deserialize, Serialize};

mod storage;

/// Settings of the per-node regressors and classifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnmConfig {
    /// Hidden widths of each node's network (ReLU). Two layers of 64 are plenty for the
    /// benchmarks' mechanisms (sums, products and sigmoids of two to four parents).
    pub hidden: Vec<usize>,
    /// Optimisation; early stopping on the normal validation rows.
    pub train: TrainConfig,
}

impl Default for AnmConfig {
    fn default() -> Self {
        AnmConfig {
            hidden: vec![64, 64],
            train: TrainConfig {
                epochs: 200,
                batch_size: 256,
                learning_rate: 1e-3,
                weight_decay: 0.0,
                patience: Some(15),
                min_epochs: 10,
                lr_decay: 1.0,
                min_delta: 0.0,
            },
        }
    }
}

/// A non-linear regressor replaces the linear one only when its held-out squared errors are
/// lower by a paired t statistic of at least this (module docs; about a one-sided 2% test).
pub const LINEAR_T: f64 = 2.0;

/// How one node is generated from its parents.
#[derive(Debug)]
enum Mechanism {
    /// A continuous root: `x = mean + u`.
    Constant { mean: f64 },
    /// A continuous node with parents: `x = mean + sd · (w·pa + b + net(pa)) + u` (the
    /// regressor predicts the standardised value; either part may be absent, not both).
    Regressor {
        net: Option<Mlp>,
        linear: Option<Linear>,
        mean: f64,
        sd: f64,
        /// Training box, slope and curvature of the regressor ([`crate::extrapolation`]).
        extrapolation: Option<Extrapolation>,
        /// For a linear mechanism, the network fitted beside it: where the parents leave the
        /// training box, the two's disagreement is the slack of the plane's extrapolation.
        check: Option<Mlp>,
    },
    /// A discrete root: level probabilities.
    Prior { probs: Vec<f64> },
    /// A discrete node with parents: `p(level | pa) = softmax(net(pa))`.
    Classifier { net: Mlp, levels: usize },
}

/// What the manifest records per node (the networks go to the weights file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum MechanismSpec {
    Constant {
        mean: f64,
    },
    Regressor {
        mean: f64,
        sd: f64,
        /// The network's layer sizes; empty for a linear mechanism.
        sizes: Vec<usize>,
        /// The linear part (weights, then intercept), when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        linear: Option<Vec<f64>>,
        /// Training box and slope of the regressor (models saved before it: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extrapolation: Option<Extrapolation>,
        /// Layer sizes of a linear mechanism's check network (weights `node{i}.check`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check_sizes: Option<Vec<usize>>,
    },
    Prior {
        probs: Vec<f64>,
    },
    Classifier {
        levels: usize,
        sizes: Vec<usize>,
    },
}

/// A fitted additive-noise model.
#[derive(Debug)]
pub struct Anm {
    pub config: AnmConfig,
    dag: Dag,
    schema: Schema,
    encoder: TabularEncoder,
    mechanisms: Vec<Mechanism>,
    /// Training report of each node that has a network.
    pub reports: Vec<Option<TrainReport>>,
}

/// Number of levels of a discrete feature (`None` for continuous).
fn levels(kind: &FeatureType) -> Option<usize> {
    match kind {
        FeatureType::Continuous => None,
        FeatureType::Binary => Some(2),
        FeatureType::Categorical { levels } => Some(levels.len()),
    }
}

/// Checks that the DAG's nodes are the schema's features, in the same order.
fn check_alignment(dag: &Dag, schema: &Schema) -> Result<()> {
    let names = schema.names();
    if dag.names().len() != names.len() || dag.names().iter().zip(&names).any(|(a, b)| a != b) {
        return Err(Error::invalid(format!(
            "the graph's nodes ({}) must be the data's features in the same order ({})",
            dag.names().join(", "),
            names.join(", ")
        )));
    }
    Ok(())
}

impl AnmConfig {
    /// Fits one mechanism per node on normal `train` rows (schema order), with early stopping
    /// on `valid`. The DAG's nodes must be the schema's features in the same order.
    pub fn fit<R: Rng + ?Sized>(
        &self,
        dag: &Dag,
        schema: &Schema,
        train: &[Vec<f64>],
        valid: &[Vec<f64>],
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<Anm> {
        check_alignment(dag, schema)?;
        if train.len() < 2 {
            return Err(Error::invalid(
                "the additive-noise model needs at least two training rows",
            ));
        }
        let encoder = TabularEncoder::fit(schema, train)?;
        let xt = encoder.encode(train)?;
        let xv = encoder.encode(valid)?;
        let probe = Anm {
            config: self.clone(),
            dag: dag.clone(),
            schema: schema.clone(),
            encoder: encoder.clone(),
            mechanisms: Vec::new(),
            reports: Vec::new(),
        };
        let mut mechanisms = Vec::with_capacity(dag.len());
        let mut unpredicted: Vec<String> = Vec::new();
        let mut reports = Vec::with_capacity(dag.len());
        for i in 0..dag.len() {
            let feature = &schema.features[i];
            let col = |rows: &[Vec<f64>]| rows.iter().map(|r| r[i]).collect::<Vec<f64>>();
            let y = col(train);
            let lv = levels(&feature.kind);
            if dag.parents(i).is_empty() {
                mechanisms.push(match lv {
                    None => Mechanism::Constant {
                        mean: y.iter().sum::<f64>() / y.len() as f64,
                    },
                    Some(k) => {
                        let mut counts = vec![1.0; k]; // add-one smoothing
                        for &v in &y {
                            counts[v as usize] += 1.0;
                        }
                        let total: f64 = counts.iter().sum();
                        Mechanism::Prior {
                            probs: counts.into_iter().map(|c| c / total).collect(),
                        }
                    }
                });
                reports.push(None);
                continue;
            }
            let pt = probe.parent_inputs(i, &xt, train.len());
            let pv = probe.parent_inputs(i, &xv, valid.len());
            let d_in = probe.parent_width(i);
            let what = format!("anm:{}", feature.name);
            match lv {
                None => {
                    let (mean, sd) = match encoder.features[i] {
                        FeatureEncoding::Standard { mean, sd } => (mean, sd),
                        _ => unreachable!("continuous features are standardised by fit"),
                    };
                    let std = |v: &[f64]| -> Vec<f32> {
                        v.iter().map(|x| ((x - mean) / sd) as f32).collect()
                    };
                    let (yt, yv) = (std(&y), std(&col(valid)));
                    let mut sizes = vec![d_in];
                    sizes.extend(&self.hidden);
                    sizes.push(1);
                    let (nt, nv) = (train.len(), valid.len());
                    let mut fit_net = |target: &[f32], target_v: &[f32], rng: &mut R| {
                        fit_mlp(
                            &MlpConfig::relu(&sizes),
                            Target::Regression,
                            Examples {
                                x: &pt,
                                y: target,
                                n: nt,
                            },
                            Examples {
                                x: &pv,
                                y: target_v,
                                n: nv,
                            },
                            &self.train,
                            rng,
                            observer,
                            &what,
                        )
                    };
                    // The network alone first (the same draws as before this choice existed).
                    let (net, report) = fit_net(&yt, &yv, rng);
                    let net_v = net_output(&net, &pv, nv);
                    let net_err = mse(&net_v, &yv);
                    let (net, linear, report, check) = match Linear::fit(&pt, &yt, nt, d_in) {
                        // Without held-out rows there is nothing to choose on: the network.
                        Some(linear) if nv > 0 => {
                            let lin_t = linear.predict(&pt, nt);
                            let lin_v = linear.predict(&pv, nv);
                            let lin_err = mse(&lin_v, &yv);
                            let resid = |y: &[f32], l: &[f64]| -> Vec<f32> {
                                y.iter()
                                    .zip(l)
                                    .map(|(t, p)| (f64::from(*t) - p) as f32)
                                    .collect()
                            };
                            let (skip, skip_report) =
                                fit_net(&resid(&yt, &lin_t), &resid(&yv, &lin_v), rng);
                            let skip_v = regressor_output(Some(&skip), Some(&linear), &pv, nv);
                            let skip_err = mse(&skip_v, &yv);
                            let t = if skip_err < net_err {
                                paired_t(&lin_v, &skip_v, &yv)
                            } else {
                                paired_t(&lin_v, &net_v, &yv)
                            };
                            tracing::debug!(
                                node = %feature.name, linear = lin_err, skip = skip_err,
                                network = net_err, t, "held-out error of each regressor"
                            );
                            if t < LINEAR_T {
                                // A network that did better on the held-out rows, though not
                                // surely, stays as a check on the plane's extrapolation; one
                                // that did no better is no evidence of a curve.
                                let check = (t > 0.0).then_some(net);
                                (None, Some(linear), report, check)
                            } else if skip_err < net_err {
                                (Some(skip), Some(linear), skip_report, None)
                            } else {
                                (Some(net), None, report, None)
                            }
                        }
                        _ => (Some(net), None, report, None),
                    };
                    // Parents that do not predict the node better than its training mean on
                    // the held-out rows (the same paired t as above): the mechanism is the
                    // mean, so the node's noise is its own deviation and no slope learnt
                    // from noise is extrapolated.
                    let (net, linear, check) = match nv {
                        0 => (net, linear, check),
                        _ => {
                            let chosen = regressor_output(net.as_ref(), linear.as_ref(), &pv, nv);
                            let m = yt.iter().map(|v| f64::from(*v)).sum::<f64>() / nt as f64;
                            if paired_t(&vec![m; nv], &chosen, &yv) < LINEAR_T {
                                unpredicted.push(feature.name.clone());
                                let mut coef = vec![0.0; d_in];
                                coef.push(m);
                                (None, Some(Linear { coef }), None)
                            } else {
                                (net, linear, check)
                            }
                        }
                    };
                    let f = |x: &[f32], rows: usize| {
                        regressor_output(net.as_ref(), linear.as_ref(), x, rows)
                    };
                    let extrapolation = Some(Extrapolation::fit(&pt, nt, d_in, f));
                    let mechanism = Mechanism::Regressor {
                        net,
                        linear,
                        mean,
                        sd,
                        extrapolation,
                        check,
                    };
                    mechanisms.push(mechanism);
                    reports.push(Some(report));
                }
                Some(k) => {
                    let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
                    let (yt, yv) = (to32(y), to32(col(valid)));
                    let mut sizes = vec![d_in];
                    sizes.extend(&self.hidden);
                    sizes.push(k);
                    let (net, report) = fit_mlp(
                        &MlpConfig::relu(&sizes),
                        Target::Classification,
                        Examples {
                            x: &pt,
                            y: &yt,
                            n: train.len(),
                        },
                        Examples {
                            x: &pv,
                            y: &yv,
                            n: valid.len(),
                        },
                        &self.train,
                        rng,
                        observer,
                        &what,
                    );
                    mechanisms.push(Mechanism::Classifier { net, levels: k });
                    reports.push(Some(report));
                }
            }
        }
        if !unpredicted.is_empty() {
            tracing::warn!(
                features = %unpredicted.join(", "),
                "not predicted by their parents better than by their mean on the held-out rows: \
                 their mechanism is their mean (check the graph's edges into them)"
            );
        }
        Ok(Anm {
            mechanisms,
            reports,
            ..probe
        })
    }
}

impl Anm {
    /// The graph the model follows.
    pub fn dag(&self) -> &Dag {
        &self.dag
    }

    /// The feature schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The row encoder (standardised continuous features, one-hot categories): the
    /// mechanisms read their parents in this encoding.
    pub fn encoder(&self) -> &TabularEncoder {
        &self.encoder
    }

    /// The continuous nodes with parents, in topological order: `(node, network, linear
    /// coefficients (weights then intercept), sd)` where the mechanism is
    /// `x = mean + sd · (w·pa + b + net(pa))`.
    pub(crate) fn regressors(
        &self,
    ) -> impl Iterator<Item = (usize, Option<&Mlp>, Option<&[f64]>, f64)> {
        self.dag
            .topological_order()
            .iter()
            .filter_map(|&i| match &self.mechanisms[i] {
                Mechanism::Regressor {
                    net, linear, sd, ..
                } => Some((i, net.as_ref(), linear.as_ref().map(|l| &l.coef[..]), *sd)),
                _ => None,
            })
    }

    /// Per continuous node with parents, which regressor the held-out error chose:
    /// `"linear"`, `"linear+network"` or `"network"` (`None` for other nodes).
    pub fn regressor_kinds(&self) -> Vec<Option<&'static str>> {
        self.mechanisms
            .iter()
            .map(|m| match m {
                Mechanism::Regressor { net, linear, .. } => Some(match (net, linear) {
                    (None, Some(l)) if l.coef[..l.coef.len() - 1].iter().all(|&w| w == 0.0) => {
                        "mean"
                    }
                    (None, _) => "linear",
                    (Some(_), Some(_)) => "linear+network",
                    (Some(_), None) => "network",
                }),
                _ => None,
            })
            .collect()
    }

    /// Node `i`'s parents' encoded column indices, in the order its network reads them.
    pub(crate) fn parent_columns(&self, i: usize) -> Vec<usize> {
        let off = self.encoder.offsets();
        self.dag
            .parents(i)
            .iter()
            .flat_map(|&p| {
                let len = match self.encoder.features[p] {
                    FeatureEncoding::OneHot { levels } => levels,
                    _ => 1,
                };
                off[p]..off[p] + len
            })
            .collect()
    }

    /// Width of node `i`'s network input: its parents' encoded columns.
    fn parent_width(&self, i: usize) -> usize {
        self.parent_columns(i).len()
    }

    /// Node `i`'s parents' encoded columns of `n` encoded rows.
    fn parent_inputs(&self, i: usize, x: &[f32], n: usize) -> Vec<f32> {
        let w = self.encoder.width();
        let cols = self.parent_columns(i);
        let mut out = Vec::with_capacity(n * cols.len());
        for r in 0..n {
            let row = &x[r * w..(r + 1) * w];
            out.extend(cols.iter().map(|&c| row[c]));
        }
        out
    }

    /// Node `i`'s mechanism output for every row: the predicted value (continuous) or the
    /// level probabilities (discrete, `levels` per row).
    fn mechanism_output(&self, i: usize, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        let n = rows.len();
        Ok(match &self.mechanisms[i] {
            Mechanism::Constant { mean } => vec![*mean; n],
            Mechanism::Prior { probs } => probs
                .iter()
                .copied()
                .cycle()
                .take(n * probs.len())
                .collect(),
            Mechanism::Regressor {
                net,
                linear,
                mean,
                sd,
                ..
            } => {
                let x = self.encoder.encode(rows)?;
                let inputs = self.parent_inputs(i, &x, n);
                regressor_output(net.as_ref(), linear.as_ref(), &inputs, n)
                    .into_iter()
                    .map(|v| mean + sd * v)
                    .collect()
            }
            Mechanism::Classifier { net, .. } => {
                let x = self.encoder.encode(rows)?;
                let inputs = self.parent_inputs(i, &x, n);
                predict(net, &inputs, n, true)
                    .into_iter()
                    .map(f64::from)
                    .collect()
            }
        })
    }

    fn n_levels(&self, i: usize) -> Option<usize> {
        match &self.mechanisms[i] {
            Mechanism::Prior { probs } => Some(probs.len()),
            Mechanism::Classifier { levels, .. } => Some(*levels),
            _ => None,
        }
    }

    /// Checks rows: length and values valid for each feature (through the encoder).
    fn check_rows(&self, rows: &[Vec<f64>]) -> Result<()> {
        self.encoder.encode(rows).map(|_| ())
    }

    /// Checks an intervention: soft shifts only on continuous features, valid levels for
    /// hard values of discrete ones.
    fn check_intervention(&self, iv: &Intervention) -> Result<()> {
        let name = |i: usize| self.dag.names().get(i).map(String::as_str);
        for &(i, t) in &iv.shift {
            let n = name(i).ok_or_else(|| Error::invalid(format!("no feature {i} to shift")))?;
            if self.n_levels(i).is_some() {
                return Err(Error::invalid(format!(
                    "cannot shift '{n}': soft interventions apply to continuous features only"
                )));
            }
            if !t.is_finite() {
                return Err(Error::invalid(format!("shift of '{n}' is not finite")));
            }
        }
        for &(i, v) in &iv.set {
            let n = name(i).ok_or_else(|| Error::invalid(format!("no feature {i} to set")))?;
            let ok = match self.n_levels(i) {
                None => v.is_finite(),
                Some(k) => v >= 0.0 && v.fract() == 0.0 && (v as usize) < k,
            };
            if !ok {
                return Err(Error::invalid(format!(
                    "{n}={v} is not a valid value of '{n}'"
                )));
            }
        }
        Ok(())
    }
}

/// The paired t statistic of `(a − y)² − (b − y)²` over the rows: how surely predictions `b`
/// beat `a` (0 when the differences do not vary).
fn paired_t(a: &[f64], b: &[f64], y: &[f32]) -> f64 {
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .zip(y)
        .map(|((a, b), y)| (a - f64::from(*y)).powi(2) - (b - f64::from(*y)).powi(2))
        .collect();
    let n = d.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    if var > 0.0 {
        mean / (var / n).sqrt()
    } else {
        0.0
    }
}

/// A regressor's output (standardised units): its linear part plus its network, for `n` rows
/// of encoded parents.
fn regressor_output(net: Option<&Mlp>, linear: Option<&Linear>, x: &[f32], n: usize) -> Vec<f64> {
    let mut out = match linear {
        Some(l) => l.predict(x, n),
        None => vec![0.0; n],
    };
    if let Some(net) = net {
        for (o, v) in out.iter_mut().zip(net_output(net, x, n)) {
            *o += v;
        }
    }
    out
}

/// A regression network's outputs (standardised units) for `n` rows of inputs.
fn net_output(net: &Mlp, x: &[f32], n: usize) -> Vec<f64> {
    predict(net, x, n, false)
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Width of node `i`'s encoded parents, before the model exists (loading).
fn self_parent_width(dag: &Dag, encoder: &TabularEncoder, i: usize) -> usize {
    dag.parents(i)
        .iter()
        .map(|&p| match encoder.features[p] {
            FeatureEncoding::OneHot { levels } => levels,
            _ => 1,
        })
        .sum()
}

/// The midpoint of level `c`'s interval of the CDF given by `probs`.
pub(crate) fn cdf_midpoint(probs: &[f64], c: usize) -> f64 {
    probs[..c].iter().sum::<f64>() + probs[c] / 2.0
}

/// The level whose CDF interval holds `u`.
pub(crate) fn level_at(probs: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (k, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return k;
        }
    }
    probs.len() - 1
}

impl CausalModel for Anm {
    fn node_names(&self) -> &[String] {
        self.dag.names()
    }

    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self
            .abduct_batch(std::slice::from_ref(&x.to_vec()))?
            .remove(0))
    }

    /// Per regressor node whose parents lie outside the training box: a non-linear one,
    /// `sd · (2·L·d + K·d²)` ([`crate::extrapolation`]); a linear one, `sd` times its
    /// disagreement with the network fitted beside it (a two-member ensemble: a plane chosen
    /// because the held-out rows could not tell a mild saturation from a line is not trusted
    /// blindly 10 sd away). Unbounded (infinite) when a parent that never varied in training
    /// moved ([`Extrapolation::moves_a_constant`]). 0 inside the box and for every other node.
    fn noise_slack_batch(&self, xs: &[Vec<f64>]) -> Result<Option<Vec<Vec<f64>>>> {
        // Encoding checks the rows too.
        let x = self.encoder.encode(xs)?;
        let mut slack = vec![vec![0.0; self.dag.len()]; xs.len()];
        for (i, m) in self.mechanisms.iter().enumerate() {
            if let Mechanism::Regressor {
                extrapolation: Some(e),
                sd,
                net,
                linear,
                check,
                ..
            } = m
            {
                let n = xs.len();
                let inputs = self.parent_inputs(i, &x, n);
                let d = e.lo.len();
                let spread: Option<Vec<f64>> = match (net, linear, check) {
                    (None, Some(l), Some(c)) => Some(
                        l.predict(&inputs, n)
                            .iter()
                            .zip(net_output(c, &inputs, n))
                            .map(|(a, b)| (a - b).abs())
                            .collect(),
                    ),
                    _ => None,
                };
                for (r, s) in slack.iter_mut().enumerate() {
                    let row = &inputs[r * d..(r + 1) * d];
                    s[i] = match (&spread, net) {
                        _ if e.distance(row) == 0.0 => 0.0,
                        _ if e.moves_a_constant(row) => f64::INFINITY,
                        (Some(spread), _) => sd * spread[r],
                        (None, Some(_)) => sd * e.slack(row),
                        (None, None) => 0.0,
                    };
                }
            }
        }
        Ok(Some(slack))
    }

    /// The Euclidean distance of each regressor node's encoded parents from their training
    /// box ([`Extrapolation::distance`], standardised units); 0 for other nodes.
    fn parent_distance_batch(&self, xs: &[Vec<f64>]) -> Result<Option<Vec<Vec<f64>>>> {
        let x = self.encoder.encode(xs)?;
        let n = xs.len();
        let mut dist = vec![vec![0.0; self.dag.len()]; n];
        for (i, m) in self.mechanisms.iter().enumerate() {
            if let Mechanism::Regressor {
                extrapolation: Some(e),
                ..
            } = m
            {
                let inputs = self.parent_inputs(i, &x, n);
                let d = e.lo.len();
                for (r, row) in dist.iter_mut().enumerate() {
                    row[i] = e.distance(&inputs[r * d..(r + 1) * d]);
                }
            }
        }
        Ok(Some(dist))
    }

    fn abduct_batch(&self, xs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        self.check_rows(xs)?;
        let mut u = vec![vec![0.0; self.dag.len()]; xs.len()];
        for i in 0..self.dag.len() {
            let out = self.mechanism_output(i, xs)?;
            match self.n_levels(i) {
                None => {
                    for (r, x) in xs.iter().enumerate() {
                        u[r][i] = x[i] - out[r];
                    }
                }
                Some(k) => {
                    for (r, x) in xs.iter().enumerate() {
                        u[r][i] = cdf_midpoint(&out[r * k..(r + 1) * k], x[i] as usize);
                    }
                }
            }
        }
        Ok(u)
    }

    fn predict(&self, u: &[f64]) -> Result<Vec<f64>> {
        self.counterfactual_from_noise(u, &Intervention::default())
    }

    /// All rows at once, node by node in topological order.
    fn predict_batch(&self, us: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        if us
            .iter()
            .any(|u| u.len() != self.dag.len() || u.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::invalid(format!(
                "every noise vector must hold {} finite values",
                self.dag.len()
            )));
        }
        let mut xs = vec![vec![0.0; self.dag.len()]; us.len()];
        // Nodes not yet computed hold a valid placeholder so that rows encode: level 0 for
        // discrete features, 0 for continuous ones; a node's mechanism reads only its parents.
        for &i in self.dag.topological_order() {
            let out = self.mechanism_output(i, &xs)?;
            match self.n_levels(i) {
                None => {
                    for (r, u) in us.iter().enumerate() {
                        xs[r][i] = out[r] + u[i];
                    }
                }
                Some(k) => {
                    for (r, u) in us.iter().enumerate() {
                        xs[r][i] = level_at(&out[r * k..(r + 1) * k], u[i].clamp(0.0, 1.0)) as f64;
                    }
                }
            }
        }
        Ok(xs)
    }

    fn counterfactual_from_noise(
        &self,
        u: &[f64],
        intervention: &Intervention,
    ) -> Result<Vec<f64>> {
        if u.len() != self.dag.len() || u.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "noise vector must hold {} finite values",
                self.dag.len()
            )));
        }
        self.check_intervention(intervention)?;
        let mut x = vec![0.0; self.dag.len()];
        for &i in self.dag.topological_order() {
            if let Some(v) = intervention.set_of(i) {
                x[i] = v;
                continue;
            }
            let out = self.mechanism_output(i, std::slice::from_ref(&x))?;
            x[i] = match self.n_levels(i) {
                None => out[0] + u[i] + intervention.shift_of(i),
                Some(_) => level_at(&out, u[i].clamp(0.0, 1.0)) as f64,
            };
        }
        Ok(x)
    }

    /// Abducts each row's noise and recomputes, in topological order, only the nodes that are
    /// intervened on or have a changed parent; every other value is kept exactly.
    fn counterfactual_batch(
        &self,
        xs: &[Vec<f64>],
        interventions: &[Intervention],
    ) -> Result<Vec<Vec<f64>>> {
        remedy_core::traits::check_batch(xs, interventions)?;
        for iv in interventions {
            self.check_intervention(iv)?;
        }
        // Many actions on the same row come together (a search's candidates): a row repeated
        // consecutively is abducted once, its noise shared by its copies (a row's noise does
        // not depend on the rows abducted with it, so nothing changes but the time).
        let (distinct, noise_of) = remedy_core::traits::distinct_runs(xs);
        let distinct_u = self.abduct_batch(&distinct)?;
        let u: Vec<&Vec<f64>> = noise_of.iter().map(|&d| &distinct_u[d]).collect();
        let mut cf: Vec<Vec<f64>> = xs.to_vec();
        let mut changed = vec![vec![false; self.dag.len()]; xs.len()];
        for &i in self.dag.topological_order() {
            let touched: Vec<usize> = (0..xs.len())
                .filter(|&r| {
                    !interventions[r]
                        .shift
                        .iter()
                        .chain(&interventions[r].set)
                        .all(|&(j, _)| j != i)
                        || self.dag.parents(i).iter().any(|&p| changed[r][p])
                })
                .collect();
            if touched.is_empty() {
                continue;
            }
            let needs_mechanism = touched
                .iter()
                .any(|&r| interventions[r].set_of(i).is_none());
            let out = if needs_mechanism {
                // The mechanism reads only the node's parents: consecutive rows whose parents
                // are unchanged from each other (actions on the node itself, not above it)
                // share one evaluation (a row's output does not depend on the rows evaluated
                // with it).
                let parents = self.dag.parents(i);
                let (output_of, firsts) = remedy_core::traits::runs(touched.len(), |a, b| {
                    let (a, b) = (touched[a], touched[b]);
                    parents.iter().all(|&p| cf[a][p] == cf[b][p])
                });
                let distinct: Vec<Vec<f64>> =
                    firsts.iter().map(|&t| cf[touched[t]].clone()).collect();
                let width = self.n_levels(i).unwrap_or(1);
                let out = self.mechanism_output(i, &distinct)?;
                output_of
                    .iter()
                    .flat_map(|&d| out[d * width..(d + 1) * width].iter().copied())
                    .collect()
            } else {
                Vec::new()
            };
            for (t, &r) in touched.iter().enumerate() {
                let iv = &interventions[r];
                let new = match (iv.set_of(i), self.n_levels(i)) {
                    (Some(v), _) => v,
                    (None, None) => out[t] + u[r][i] + iv.shift_of(i),
                    (None, Some(k)) => {
                        level_at(&out[t * k..(t + 1) * k], u[r][i].clamp(0.0, 1.0)) as f64
                    }
                };
                if new != xs[r][i] {
                    changed[r][i] = true;
                }
                cf[r][i] = new;
            }
        }
        Ok(cf)
    }

    fn counterfactual(&self, x: &[f64], intervention: &Intervention) -> Result<Vec<f64>> {
        Ok(self
            .counterfactual_batch(
                std::slice::from_ref(&x.to_vec()),
                std::slice::from_ref(intervention),
            )?
            .remove(0))
    }
}

#[cfg(test)]
pub(crate) mod tests;
