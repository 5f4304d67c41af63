//! What real data hold and generated benchmarks do not, through `fit` and `explain`: a column
//! constant in the normal rows that moves, a 0/1 numeric column that later takes another
//! value, empty cells, a value 1e12 scales away. Each row gets a ranking, never a refusal,
//! with the right feature first.

use rand::Rng;
use remedy_app::{FitConfig, Fitted, Missing, RootCauseRule, fit};
use remedy_core::{Column, Dag, Table, seed};
use remedy_nn::NoObserver;

const NAMES: [&str; 7] = ["X0", "X1", "X2", "X3", "K", "K2", "B"];

/// X0 → X1 → X2 → X3 with unit coefficients and N(0, 1) noise; K (always 5) → K2 (always 1),
/// two services that never failed in the normal rows; B, a 0/1 metric; X2 has an empty cell
/// in every tenth row.
fn normal_rows(n: usize) -> Table {
    let mut rng = seed::rng(5);
    let mut gauss = || {
        let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(n); NAMES.len()];
    for i in 0..n {
        let x0 = gauss();
        let x1 = x0 + gauss();
        let x2 = x1 + gauss();
        let x3 = x2 + gauss();
        let b = if gauss() > 0.0 { 1.0 } else { 0.0 };
        let x2_cell = if i % 10 == 3 { f64::NAN } else { x2 };
        for (c, v) in cols.iter_mut().zip([x0, x1, x2_cell, x3, 5.0, 1.0, b]) {
            c.push(v);
        }
    }
    Table::new(
        NAMES
            .iter()
            .zip(cols)
            .map(|(n, c)| (n.to_string(), Column::Num(c)))
            .collect(),
    )
    .unwrap()
}

fn dag() -> Dag {
    Dag::new(
        &NAMES,
        &[("X0", "X1"), ("X1", "X2"), ("X2", "X3"), ("K", "K2")],
    )
    .unwrap()
}

fn fitted(missing: Missing) -> remedy_core::Result<Fitted> {
    let config = FitConfig {
        epochs: Some(30),
        seed: 2,
        missing,
        ..FitConfig::default()
    };
    fit(&normal_rows(1500), &dag(), None, &config, &mut NoObserver)
}

/// The feature ranked first, and the evidence of `name`, in one explained row.
fn first(m: &Fitted, row: &remedy_app::ExplainRow) -> String {
    let k = row.evidence.iter().position(|e| e.rank == 1).unwrap();
    m.candidates()[k].clone()
}

#[test]
fn messy_rows_are_ranked_never_refused() {
    let m = fitted(Missing::Impute).unwrap();
    assert_eq!(m.manifest.filled_cells, 150);
    // Every feature is a candidate: the 0/1 column was not inferred binary.
    assert_eq!(m.candidates().len(), NAMES.len());
    let nan = f64::NAN;
    let rows = Table::from_rows(
        &NAMES.map(String::from),
        &[
            // 1: K, constant 5 in the normal rows, moves to 9 (K2 holds its 1).
            vec![0.0, 0.0, 0.0, 0.0, 9.0, 1.0, 1.0],
            // 2: B, 0/1 in the normal rows, reads 7.
            vec![0.0, 0.0, 0.0, 0.0, 5.0, 1.0, 7.0],
            // 3: X1 is empty, X2 is 10 sd off its parents' prediction.
            vec![0.0, nan, 10.0, 10.0, 5.0, 1.0, 0.0],
            // 4: X3 is 1e12 sd away.
            vec![0.0, 0.0, 0.0, 1e12, 5.0, 1.0, 0.0],
            // 5: K and its child K2 both move: K2's move is K's doing.
            vec![0.0, 0.0, 0.0, 0.0, 9.0, 3.0, 0.0],
        ],
    )
    .unwrap();
    let ex = m.explain(&rows, true, &RootCauseRule::default()).unwrap();
    assert_eq!(ex.len(), 5);
    let idx = |n: &str| m.candidates().iter().position(|c| c == n).unwrap();
    assert_eq!(first(&m, &ex[0]), "K");
    assert_eq!(ex[0].evidence[idx("K")].pvalue, 0.0);
    assert_eq!(ex[0].root_causes, ["K"]);
    assert_eq!(ex[0].evidence[idx("K2")].pvalue, 1.0, "K2 did not move");
    assert_eq!(first(&m, &ex[1]), "B");
    assert_eq!(ex[1].root_causes, ["B"]);
    assert_eq!(first(&m, &ex[2]), "X2");
    let x1 = ex[2].evidence[idx("X1")];
    assert_eq!(
        (x1.pvalue, x1.score),
        (1.0, 0.0),
        "an empty cell is no evidence"
    );
    assert!(x1.deviation.is_nan());
    assert!(!ex[2].root_causes.contains(&"X1".to_string()));
    assert_eq!(first(&m, &ex[3]), "X3");
    assert!(ex[3].is_anomaly);
    assert_eq!(first(&m, &ex[4]), "K");
    assert_eq!(ex[4].root_causes, ["K"]);
    assert_eq!(ex[4].evidence[idx("K2")].pvalue, 1.0, "explained by K");
    // Ranks are a strict order: 1..=7 once each.
    for r in &ex {
        let mut ranks: Vec<usize> = r.evidence.iter().map(|e| e.rank).collect();
        ranks.sort_unstable();
        assert_eq!(ranks, (1..=NAMES.len()).collect::<Vec<_>>());
    }
    // A target query ranks only the target and its ancestors.
    let t = m
        .explain_target(&rows, true, &RootCauseRule::default(), Some("X3"))
        .unwrap();
    assert_eq!(first(&m, &t[2]), "X2");
    assert_eq!(t[0].evidence[idx("K")].rank, 0);
    assert!(t[0].root_causes.is_empty(), "K cannot explain X3: {t:?}");
    let e = m
        .explain_target(&rows, true, &RootCauseRule::default(), Some("nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'nope'") && e.contains("not a feature"), "{e}");
}

#[test]
fn missing_error_refuses_empty_cells_naming_them() {
    let e = fitted(Missing::Error).unwrap_err().to_string();
    assert!(e.contains("row 4") && e.contains("'X2'"), "{e}");
}

/// A parent and its child both far off: the child's noise rests on an extrapolation of its
/// mechanism (its parent lies outside the training range), the parent's on nothing, so the
/// parent ranks first even where the child's p-value is the smaller; both are named.
#[test]
fn a_named_parent_inside_its_range_ranks_before_its_child() {
    let m = fitted(Missing::Impute).unwrap();
    let idx = |n: &str| m.candidates().iter().position(|c| c == n).unwrap();
    // X1 = X0 + 8 (8 sd of its noise), X2 = X1 + 40 (40 sd of its noise).
    let rows = Table::from_rows(
        &NAMES.map(String::from),
        &[vec![0.0, 8.0, 48.0, 48.0, 5.0, 1.0, 0.0]],
    )
    .unwrap();
    let ex = m.explain(&rows, false, &RootCauseRule::default()).unwrap();
    let (x1, x2) = (ex[0].evidence[idx("X1")], ex[0].evidence[idx("X2")]);
    assert!(x2.pvalue < x1.pvalue, "{x1:?} {x2:?}");
    assert_eq!((x1.rank, x2.rank), (1, 2), "{:?}", ex[0]);
    assert_eq!(ex[0].root_causes, ["X1", "X2"]);
}
