//! The time-series model's counterfactual world and root causes on a VAR(1) with one Granger
//! edge (x → y, the model family of RecAD's Linear benchmark): the world predicts from values
//! held within the training range, so a fault far outside it cannot throw the other variables
//! hundreds of sd away; the root cause of a shock on x is x, not the y it moves.

use std::sync::Arc;

use rand::Rng;
use remedy_app::ts::{TsFitConfig, ts_fit};
use remedy_core::{Column, Table, seed};
use remedy_nn::NoObserver;

fn gauss(rng: &mut impl Rng) -> f64 {
    let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// x_t = 0.5 x_{t−1} + e, y_t = 0.8 x_{t−1} + 0.3 y_{t−1} + e, z_t = 0.4 z_{t−1} + e.
fn series(n: usize, rng: &mut impl Rng) -> Vec<[f64; 3]> {
    let mut out = vec![[0.0; 3]];
    for t in 1..n {
        let p = out[t - 1];
        out.push([
            0.5 * p[0] + gauss(rng),
            0.8 * p[0] + 0.3 * p[1] + gauss(rng),
            0.4 * p[2] + gauss(rng),
        ]);
    }
    out
}

fn table(rows: &[[f64; 3]]) -> Table {
    Table::new(
        ["x", "y", "z"]
            .iter()
            .enumerate()
            .map(|(j, n)| {
                (
                    n.to_string(),
                    Column::Num(rows.iter().map(|r| r[j]).collect()),
                )
            })
            .collect(),
    )
    .unwrap()
}

#[test]
fn the_world_holds_its_inputs_in_range_and_the_shocked_variable_is_the_root_cause() {
    let mut rng = seed::rng(7);
    let train = series(3000, &mut rng);
    let config = TsFitConfig {
        seed: 1,
        epochs: Some(20),
        ..TsFitConfig::default()
    };
    let model = Arc::new(ts_fit(&table(&train), &config, &mut NoObserver).unwrap());
    let models = model.models().unwrap();
    let bounds = models.bounds.unwrap();
    assert!(models.clamp_world);
    // A window whose last step has x 1,000 sd off: the world predicts as at the edge of the
    // training range, exactly GVAR on the clamped window.
    let mut window: Vec<Vec<f64>> = train[100..105].iter().map(|r| r.to_vec()).collect();
    window[4][0] = 1000.0;
    let held: Vec<Vec<f64>> = window.iter().map(|r| bounds.clamp(r)).collect();
    assert!(held[4][0] <= train.iter().map(|r| r[0]).fold(f64::MIN, f64::max));
    let world = models.world_predict(&[&window]).unwrap();
    let plain = model.gvar.predict_next_batch(&[&window]).unwrap();
    let edge = model.gvar.predict_next_batch(&[&held]).unwrap();
    assert_eq!(world, edge);
    assert!(
        (plain[0][1] - edge[0][1]).abs() > 10.0,
        "GVAR extrapolates y from x at 1,000 sd: {plain:?} against {edge:?}"
    );
    // A shock of 8 sd on x at step 50 of a fresh series: the first alarm names x alone, though
    // y moves by about 6.4 at the next step.
    let mut test = series(80, &mut seed::rng(11));
    test[50][0] += 8.0;
    let mut monitor = model.monitor(false);
    let mut named = None;
    for (t, r) in test.iter().enumerate() {
        let step = monitor.push("", r.to_vec()).unwrap();
        if step.alarm && t >= 50 && named.is_none() {
            named = step.root_causes.clone();
        }
    }
    assert_eq!(named, Some(vec!["x".to_string()]));
}
