//! Saving and loading an additive-noise model: the mechanisms' specs in a JSON manifest, the
//! networks (and linear mechanisms' check networks) as checksummed safetensors.

use std::path::Path;

use remedy_core::{Dag, Error, Result, Schema};
use remedy_nn::store::{self, NamedTensor, field};
use remedy_nn::{Mlp, MlpConfig, TrainReport};

use super::{Anm, AnmConfig, Mechanism, MechanismSpec, check_alignment, self_parent_width};
use crate::linreg::Linear;
use remedy_core::encode::TabularEncoder;

impl Anm {
    /// Writes `dir/NAME.safetensors` and `dir/NAME.json`.
    pub fn save(&self, dir: &Path, name: &str) -> Result<()> {
        let mut tensors: Vec<NamedTensor> = Vec::new();
        let specs: Vec<MechanismSpec> = self
            .mechanisms
            .iter()
            .enumerate()
            .map(|(i, m)| match m {
                Mechanism::Constant { mean } => MechanismSpec::Constant { mean: *mean },
                Mechanism::Prior { probs } => MechanismSpec::Prior {
                    probs: probs.clone(),
                },
                Mechanism::Regressor {
                    net,
                    linear,
                    mean,
                    sd,
                    extrapolation,
                    check,
                } => {
                    if let Some(net) = net {
                        tensors.extend(net.named_tensors(&format!("node{i}")));
                    }
                    if let Some(c) = check {
                        tensors.extend(c.named_tensors(&format!("node{i}.check")));
                    }
                    MechanismSpec::Regressor {
                        mean: *mean,
                        sd: *sd,
                        sizes: net.as_ref().map_or(Vec::new(), |n| n.config.sizes.clone()),
                        linear: linear.as_ref().map(|l| l.coef.clone()),
                        extrapolation: extrapolation.clone(),
                        check_sizes: check.as_ref().map(|c| c.config.sizes.clone()),
                    }
                }
                Mechanism::Classifier { net, levels } => {
                    tensors.extend(net.named_tensors(&format!("node{i}")));
                    MechanismSpec::Classifier {
                        levels: *levels,
                        sizes: net.config.sizes.clone(),
                    }
                }
            })
            .collect();
        let payload = serde_json::json!({
            "config": self.config,
            "graph": self.dag.to_json(),
            "schema": self.schema,
            "encoder": self.encoder,
            "mechanisms": specs,
            "reports": self.reports,
        });
        store::save(dir, name, "anm", payload, &tensors)
    }

    /// Reads a model written by [`Anm::save`].
    pub fn load(dir: &Path, name: &str) -> Result<Self> {
        let (payload, mut tensors) = store::load(dir, name, "anm")?;
        let config: AnmConfig = field(&payload, "config", "anm", dir)?;
        let graph: remedy_core::dag::DagJson = field(&payload, "graph", "anm", dir)?;
        let edges: Vec<(&str, &str)> = graph
            .edges
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let dag = Dag::new(
            &graph.nodes.iter().map(String::as_str).collect::<Vec<_>>(),
            &edges,
        )?;
        let schema: Schema = field(&payload, "schema", "anm", dir)?;
        check_alignment(&dag, &schema)?;
        let encoder: TabularEncoder = field(&payload, "encoder", "anm", dir)?;
        let specs: Vec<MechanismSpec> = field(&payload, "mechanisms", "anm", dir)?;
        let reports: Vec<Option<TrainReport>> = field(&payload, "reports", "anm", dir)?;
        if specs.len() != dag.len() || encoder.n_features() != dag.len() {
            return Err(Error::invalid(format!(
                "{}: anm manifest describes {} mechanisms for {} nodes",
                dir.display(),
                specs.len(),
                dag.len()
            )));
        }
        let device = remedy_nn::cpu();
        let mut mechanisms = Vec::with_capacity(specs.len());
        for (i, s) in specs.into_iter().enumerate() {
            mechanisms.push(match s {
                MechanismSpec::Constant { mean } => Mechanism::Constant { mean },
                MechanismSpec::Prior { probs } => Mechanism::Prior { probs },
                MechanismSpec::Regressor {
                    mean,
                    sd,
                    sizes,
                    linear,
                    extrapolation,
                    check_sizes,
                } => {
                    let check = match check_sizes {
                        Some(sizes) => Some(Mlp::from_named(
                            &MlpConfig::relu(&sizes),
                            &format!("node{i}.check"),
                            &mut tensors,
                            &device,
                        )?),
                        None => None,
                    };
                    let net = if sizes.is_empty() {
                        None
                    } else {
                        Some(Mlp::from_named(
                            &MlpConfig::relu(&sizes),
                            &format!("node{i}"),
                            &mut tensors,
                            &device,
                        )?)
                    };
                    let width = self_parent_width(&dag, &encoder, i);
                    let linear = match linear {
                        Some(coef) if coef.len() == width + 1 => Some(Linear { coef }),
                        None if net.is_some() => None,
                        _ => {
                            return Err(Error::invalid(format!(
                                "{}: anm node {i}'s regressor has no network and no linear \
                                 part of {} coefficients",
                                dir.display(),
                                width + 1
                            )));
                        }
                    };
                    if extrapolation
                        .as_ref()
                        .is_some_and(|e| e.lo.len() != width || e.hi.len() != width)
                    {
                        return Err(Error::invalid(format!(
                            "{}: anm node {i}'s training box does not match its {width} inputs",
                            dir.display()
                        )));
                    }
                    Mechanism::Regressor {
                        net,
                        linear,
                        mean,
                        sd,
                        extrapolation,
                        check,
                    }
                }
                MechanismSpec::Classifier { levels, sizes } => Mechanism::Classifier {
                    net: Mlp::from_named(
                        &MlpConfig::relu(&sizes),
                        &format!("node{i}"),
                        &mut tensors,
                        &device,
                    )?,
                    levels,
                },
            });
        }
        Ok(Anm {
            config,
            dag,
            schema,
            encoder,
            mechanisms,
            reports,
        })
    }
}
