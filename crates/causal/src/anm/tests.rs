//! Tests of the additive-noise model: abduction and prediction, Loan and Adult mechanisms,
//! the regressor choice and extrapolation slack, storage.

use super::*;
use crate::ScmOracle;
use remedy_core::seed;
use remedy_data::scm::Scm;
use remedy_data::{Adult, Loan, tabular};
use remedy_nn::NoObserver;

/// Normal rows (feature nodes only) drawn from `scm`.
pub(crate) fn rows<S: Scm>(scm: &S, n: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            let x = scm.forward(&scm.sample_noise(rng, &[]), &Intervention::default());
            scm.feature_nodes().iter().map(|&i| x[i]).collect()
        })
        .collect()
}

pub(crate) fn fitted<S: Scm>(scm: &S, n: usize, epochs: usize) -> Anm {
    let mut rng = seed::rng(11);
    let train = rows(scm, n, &mut rng);
    let valid = rows(scm, n / 5, &mut rng);
    let names: Vec<&str> = scm
        .feature_nodes()
        .iter()
        .map(|&i| scm.dag().name(i))
        .collect();
    let dag = scm.dag().subgraph(&names).unwrap();
    let schema = tabular::schema(scm).unwrap();
    let cfg = AnmConfig {
        train: TrainConfig {
            epochs,
            ..AnmConfig::default().train
        },
        ..AnmConfig::default()
    };
    cfg.fit(&dag, &schema, &train, &valid, &mut rng, &mut NoObserver)
        .unwrap()
}

/// Abduction is exact by construction: the model's own prediction from the abducted noise
/// gives the row back, and the empty intervention is the identity.
#[test]
fn abduction_and_prediction_invert_each_other() {
    let scm = Loan::new();
    let anm = fitted(&scm, 2_000, 20);
    let xs = rows(&scm, 50, &mut seed::rng(5));
    let us = anm.abduct_batch(&xs).unwrap();
    for (x, u) in xs.iter().zip(&us) {
        let back = anm.predict(u).unwrap();
        for (a, b) in back.iter().zip(x) {
            assert!((a - b).abs() < 1e-6 * (1.0 + b.abs()), "{back:?} vs {x:?}");
        }
    }
    assert_eq!(
        anm.predict_batch(&us).unwrap(),
        us.iter()
            .map(|u| anm.predict(u).unwrap())
            .collect::<Vec<_>>()
    );
    let cf = anm
        .counterfactual_batch(&xs, &vec![Intervention::default(); xs.len()])
        .unwrap();
    assert_eq!(cf, xs);
}

/// On Loan the learnt noise tracks the true noise of the continuous nodes and soft
/// counterfactuals track the exact SCM's (RootCLAM spec §8.4: the SCM counterfactual).
#[test]
fn learns_loan_noise_and_counterfactuals() {
    let scm = Loan::new();
    let anm = fitted(&scm, 10_000, 200);
    let oracle = ScmOracle::new(Loan::new());
    let xs = rows(&scm, 300, &mut seed::rng(6));
    let l = anm.node_names().iter().position(|n| n == "L").unwrap();
    let d = anm.node_names().iter().position(|n| n == "D").unwrap();
    let ivs: Vec<Intervention> = (0..xs.len())
        .map(|r| Intervention {
            shift: vec![(l, 5.0 * ((r % 3) as f64 - 1.0))],
            set: vec![],
        })
        .collect();
    let ours = anm.counterfactual_batch(&xs, &ivs).unwrap();
    let exact = oracle.counterfactual_batch(&xs, &ivs).unwrap();
    let mse: f64 = ours
        .iter()
        .zip(&exact)
        .map(|(a, b)| (a[d] - b[d]).powi(2))
        .sum::<f64>()
        / xs.len() as f64;
    let var_d: f64 = {
        let m = xs.iter().map(|r| r[d]).sum::<f64>() / xs.len() as f64;
        xs.iter().map(|r| (r[d] - m).powi(2)).sum::<f64>() / xs.len() as f64
    };
    // The descendant D of L is predicted to within a small fraction of its variance.
    assert!(mse < 0.05 * var_d, "mse {mse} vs var {var_d}");
    // The noise of L (a node with parents) correlates with the true noise.
    let u = anm.abduct_batch(&xs).unwrap();
    let t = oracle.abduct_batch(&xs).unwrap();
    let corr = correlation(
        &u.iter().map(|r| r[l]).collect::<Vec<_>>(),
        &t.iter().map(|r| r[l]).collect::<Vec<_>>(),
    );
    assert!(corr > 0.95, "corr {corr}");
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Adult has categorical nodes: abduction gives noise in (0, 1) for them, and the
/// identity counterfactual keeps every category.
#[test]
fn categorical_nodes_round_trip() {
    let scm = Adult::new();
    let anm = fitted(&scm, 2_000, 10);
    let xs = rows(&scm, 40, &mut seed::rng(8));
    let us = anm.abduct_batch(&xs).unwrap();
    for (x, u) in xs.iter().zip(&us) {
        for (i, f) in anm.schema().features.iter().enumerate() {
            if !matches!(f.kind, FeatureType::Continuous) {
                assert!(u[i] > 0.0 && u[i] < 1.0);
            }
        }
        let back = anm.predict(u).unwrap();
        for (i, f) in anm.schema().features.iter().enumerate() {
            if !matches!(f.kind, FeatureType::Continuous) {
                assert_eq!(back[i], x[i], "feature {}", f.name);
            }
        }
    }
}

/// Actions on copies of a row (abducted once; a node whose parents the actions leave alone
/// evaluated once) give the counterfactuals, bit for bit, that each row gets alone, with
/// categorical nodes among the children.
#[test]
fn copies_of_a_row_share_its_abduction() {
    let scm = Adult::new();
    let anm = fitted(&scm, 2_000, 10);
    let xs = rows(&scm, 3, &mut seed::rng(9));
    let continuous: Vec<usize> = (0..anm.node_names().len())
        .filter(|&i| matches!(anm.schema().features[i].kind, FeatureType::Continuous))
        .collect();
    let (mut batch, mut ivs) = (Vec::new(), Vec::new());
    for (r, x) in xs.iter().enumerate() {
        for c in 0..5 {
            batch.push(x.clone());
            ivs.push(Intervention {
                shift: vec![(continuous[(r + c) % continuous.len()], c as f64 * 0.7 - 1.0)],
                set: Vec::new(),
            });
        }
    }
    let together = anm.counterfactual_batch(&batch, &ivs).unwrap();
    for ((x, iv), cf) in batch.iter().zip(&ivs).zip(&together) {
        let alone = anm.counterfactual(x, iv).unwrap();
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(cf), bits(&alone), "{x:?} {iv:?}");
    }
}

/// Rows of X0 → X1 → X2 with X1 = 2·X0 + u1, X2 = −X1 + u2 (linear) and X3 = X0² + u3,
/// N(0, 0.5²) noise.
fn mixed_rows(n: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let mut g = || {
        let (a, b): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        0.5 * (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    };
    (0..n)
        .map(|_| {
            let x0 = 2.0 * g();
            let x1 = 2.0 * x0 + g();
            let x2 = -x1 + g();
            let x3 = x0 * x0 + g();
            vec![x0, x1, x2, x3]
        })
        .collect()
}

/// A schema of actionable continuous features of cost 1.
fn continuous_schema(names: &[&str]) -> Schema {
    let features = names
        .iter()
        .map(|name| remedy_core::schema::Feature::continuous(*name, 1.0))
        .collect();
    Schema::new(features).unwrap()
}

#[test]
fn linear_mechanisms_are_chosen_where_they_fit_and_extrapolate() {
    let mut rng = seed::rng(5);
    let (train, valid) = (mixed_rows(2000, &mut rng), mixed_rows(500, &mut rng));
    let dag = Dag::from_edges(&[("X0", "X1"), ("X1", "X2"), ("X0", "X3")]).unwrap();
    let schema = continuous_schema(&["X0", "X1", "X2", "X3"]);
    let anm = AnmConfig::default()
        .fit(&dag, &schema, &train, &valid, &mut rng, &mut NoObserver)
        .unwrap();
    let kinds = anm.regressor_kinds();
    assert_eq!(
        kinds[..3],
        [None, Some("linear"), Some("linear")],
        "{kinds:?}"
    );
    assert_ne!(
        kinds[3],
        Some("linear"),
        "X3 = X0² is not linear: {kinds:?}"
    );
    // X0 twenty of its sds (40) away, everything else at its mechanism: the linear
    // children's abducted noise stays within about one noise sd (0.5) of 0 far outside
    // the training range (|X0| < ~8); what is left is the slope's sampling error × 40.
    let x0 = 40.0;
    let row = vec![x0, 2.0 * x0, -2.0 * x0, x0 * x0];
    let u = anm.abduct(&row).unwrap();
    assert!(u[1].abs() < 0.6 && u[2].abs() < 0.6, "{u:?}");
    // X3 = X0² is a network, asked about X0 = 40 (|X0| < ~8 in training): its abducted
    // noise is far off, and its slack covers it; inside the data there is no slack.
    let slack = anm
        .noise_slack_batch(&[row.clone(), valid[0].clone()])
        .unwrap()
        .unwrap();
    assert!(
        u[3].abs() > 100.0 && slack[0][3] >= u[3].abs(),
        "{u:?} {slack:?}"
    );
    assert_eq!(slack[1], vec![0.0; 4]);
    // Saved and loaded, a linear mechanism answers bit for bit.
    let dir = tempfile::tempdir().unwrap();
    anm.save(dir.path(), "m").unwrap();
    let back = Anm::load(dir.path(), "m").unwrap();
    assert_eq!(back.abduct(&row).unwrap(), u);
    assert_eq!(back.regressor_kinds(), kinds);
    assert_eq!(
        back.noise_slack_batch(std::slice::from_ref(&row)).unwrap(),
        Some(vec![slack[0].clone()])
    );
    // The differentiable counterfactual follows the linear mechanisms too: shifting X0 by
    // 5 moves X1 by 10 and X2 by −10.
    let iv = Intervention {
        shift: vec![(0, 5.0)],
        set: vec![],
    };
    let cf = anm.counterfactual(&valid[0], &iv).unwrap();
    assert!((cf[1] - valid[0][1] - 10.0).abs() < 0.1, "{cf:?}");
    assert!((cf[2] - valid[0][2] + 10.0).abs() < 0.1, "{cf:?}");
}

#[test]
fn save_load_is_bit_identical_and_bad_input_is_refused() {
    let scm = Loan::new();
    let anm = fitted(&scm, 500, 3);
    let dir = tempfile::tempdir().unwrap();
    anm.save(dir.path(), "anm").unwrap();
    let back = Anm::load(dir.path(), "anm").unwrap();
    let xs = rows(&scm, 20, &mut seed::rng(9));
    assert_eq!(
        anm.abduct_batch(&xs).unwrap(),
        back.abduct_batch(&xs).unwrap()
    );
    // Wrong length, NaN, shifting a binary feature: clear errors.
    assert!(anm.abduct(&[1.0, 2.0]).is_err());
    let mut bad = xs[0].clone();
    bad[3] = f64::NAN;
    assert!(anm.abduct(&bad).is_err());
    let g = anm.node_names().iter().position(|n| n == "G").unwrap();
    let iv = Intervention {
        shift: vec![(g, 1.0)],
        set: vec![],
    };
    let err = anm.counterfactual(&xs[0], &iv).unwrap_err().to_string();
    assert!(err.contains("'G'"), "{err}");
    // A tampered weights file is refused.
    let w = dir.path().join("anm.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&w, bytes).unwrap();
    assert!(Anm::load(dir.path(), "anm").is_err());
}

#[test]
fn same_seed_same_model() {
    let scm = Loan::new();
    let a = fitted(&scm, 300, 3);
    let b = fitted(&scm, 300, 3);
    let xs = rows(&scm, 10, &mut seed::rng(10));
    assert_eq!(a.abduct_batch(&xs).unwrap(), b.abduct_batch(&xs).unwrap());
}

/// A parent that does not predict its child (the graph claims an edge the data do not show):
/// the child's mechanism is its mean, so a parent 20 sds away leaves the child's noise its
/// own deviation instead of extrapolating a slope fitted to noise. Where the parent does
/// predict the child, the mechanism stays a regressor.
#[test]
fn a_child_its_parents_do_not_predict_gets_its_mean() {
    let mut rng = seed::rng(6);
    let mut g = || {
        let (a, b): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    };
    let data: Vec<Vec<f64>> = (0..2500)
        .map(|_| {
            let x0 = g();
            vec![x0, g() + 3.0, x0 + 0.5 * g()]
        })
        .collect();
    let (train, valid) = data.split_at(2000);
    let dag = Dag::from_edges(&[("X0", "X1"), ("X0", "X2")]).unwrap();
    let schema = continuous_schema(&["X0", "X1", "X2"]);
    let anm = AnmConfig::default()
        .fit(
            &dag,
            &schema,
            train,
            valid,
            &mut seed::rng(2),
            &mut NoObserver,
        )
        .unwrap();
    let kinds = anm.regressor_kinds();
    assert_eq!(kinds[1], Some("mean"), "{kinds:?}");
    assert_ne!(kinds[2], Some("mean"), "{kinds:?}");
    let u = anm.abduct(&[20.0, 3.0, 20.0]).unwrap();
    assert!(u[1].abs() < 0.1, "X1 sits at its mean: {u:?}");
    assert!(u[2].abs() < 2.0, "X2 follows X0: {u:?}");
}
