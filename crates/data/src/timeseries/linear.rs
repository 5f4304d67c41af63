//! The Linear VAR(1) benchmark (RecAD spec §2.1, the reference's `datasets/linear.py` with
//! `t = 50`, `mul = 2`): four variables stored in the order x, w, y, z, with non-causal shocks
//! (`+2` on the chosen variables' innovations) or the causal mechanism switch of the paper's
//! Eq. (14) with `b = 3a`, applied on the event steps only (spec §10 item 6).

use std::ops::Range;

use rand::Rng;
use rand_distr::StandardNormal;
use remedy_core::{GrangerGraph, seed};

use super::{
    AnomalyType, Event, Innovations, Series, System, TestSeries, TsConfig, TsDataset, par_map,
    series_seeds,
};

/// Number of variables.
pub const DIM: usize = 4;
/// Variable names in storage order (spec §2.1: columns are stored as x, w, y, z).
pub const NAMES: [&str; DIM] = ["x", "w", "y", "z"];
/// Storage index of x.
pub const X: usize = 0;
/// Storage index of w.
pub const W: usize = 1;
/// Storage index of y.
pub const Y: usize = 2;
/// Storage index of z.
pub const Z: usize = 3;
/// Steps per series (`t = T = 50`, spec §2.1).
pub const LEN: usize = 50;
/// Innovation scale: `eps = 0.4·N(0, 1)` (spec §2.1).
pub const NOISE_SD: f64 = 0.4;
/// Non-causal shock on the chosen variables' innovations (`mul = 2`, spec §2.1).
pub const SHOCK: f64 = 2.0;
/// Causal coefficients are `b = 3a` (spec §2.1, Eq. 14).
pub const CAUSAL_FACTOR: f64 = 3.0;
/// Event start `t_p = randint(10, 40)` = `[int(0.2T), int(0.8T))` (spec §2.1).
pub const EVENT_START: Range<usize> = 10..40;
/// Number of variable draws `randint(1, 5)`: 1 to 4, with replacement (spec §2.1).
pub const N_DRAWS: Range<usize> = 1..5;
/// Range of `|a_k|` (spec §2.1: `uniform(0.2, 0.8)` with a random sign).
pub const COEF_RANGE: Range<f64> = 0.2..0.8;

/// The VAR coefficients `a_0..a_7` of spec §2.1:
///
/// ```text
/// x_s = a0·x + eps_x
/// w_s = a1·w + a2·x + eps_w
/// y_s = a3·y + a4·w + eps_y
/// z_s = a5·z + a6·w + a7·y + eps_z      (all right-hand values at s-1)
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearVar {
    /// `a_0..a_7`.
    pub a: [f64; 8],
}

impl LinearVar {
    /// Draws `a` as the reference does (spec §2.1 item 1): for each k, `u ~ U(0,1)`; if
    /// `u ≤ 0.5` then `a_k ~ U(-0.8, -0.2)`, else `a_k ~ U(0.2, 0.8)`.
    pub fn draw(rng: &mut impl Rng) -> Self {
        let mut a = [0.0; 8];
        for v in &mut a {
            let u: f64 = rng.random();
            *v = if u <= 0.5 {
                rng.random_range(-COEF_RANGE.end..-COEF_RANGE.start)
            } else {
                rng.random_range(COEF_RANGE)
            };
        }
        LinearVar { a }
    }

    /// The true coefficient matrix, row = target, column = source, order x, w, y, z:
    /// `[[a0,0,0,0],[a2,a1,0,0],[0,a4,a3,0],[0,a6,a7,a5]]` (spec §2.1).
    pub fn matrix(&self) -> [[f64; 4]; 4] {
        let a = &self.a;
        [
            [a[0], 0.0, 0.0, 0.0],
            [a[2], a[1], 0.0, 0.0],
            [0.0, a[4], a[3], 0.0],
            [0.0, a[6], a[7], a[5]],
        ]
    }

    /// The abnormal mechanism of Eq. (14) as a matrix (same layout as [`LinearVar::matrix`]),
    /// with `b = 3a`: `x ← b5·x + b6·w + b7·y`, `w ← (b3 + b4)·w`, `y ← b1·y + b2·x`,
    /// `z ← b0·z`.
    pub fn causal_matrix(&self) -> [[f64; 4]; 4] {
        let b = self.a.map(|v| v * CAUSAL_FACTOR);
        [
            [b[5], b[6], b[7], 0.0],
            [0.0, b[3] + b[4], 0.0, 0.0],
            [b[2], 0.0, b[1], 0.0],
            [0.0, 0.0, 0.0, b[0]],
        ]
    }

    /// The normal mechanism `f(x_{s-1})` (without innovations), spec §2.1.
    pub fn normal_mean(&self, p: &[f64; DIM]) -> [f64; DIM] {
        let a = &self.a;
        let mut m = [0.0; DIM];
        m[X] = a[0] * p[X];
        m[W] = a[1] * p[W] + a[2] * p[X];
        m[Y] = a[3] * p[Y] + a[4] * p[W];
        m[Z] = a[5] * p[Z] + a[6] * p[W] + a[7] * p[Y];
        m
    }

    /// The abnormal mechanism `f̃(x_{s-1})` of Eq. (14) with `b = 3a` (without innovations),
    /// written as the reference code does (`b3·w + b4·w`), spec §2.1.
    pub fn causal_mean(&self, p: &[f64; DIM]) -> [f64; DIM] {
        let b = self.a.map(|v| v * CAUSAL_FACTOR);
        let mut m = [0.0; DIM];
        m[Z] = b[0] * p[Z];
        m[Y] = b[1] * p[Y] + b[2] * p[X];
        m[W] = b[3] * p[W] + b[4] * p[W];
        m[X] = b[5] * p[X] + b[6] * p[W] + b[7] * p[Y];
        m
    }

    /// One step from `prev` with innovations `eps`; `event` is the event and the step's
    /// position in it when the observed world is on an event step. Non-causal: the shock is
    /// added to `eps` first (the reference's in-place `eps += ab`), then the normal mechanism.
    /// Causal: the abnormal mechanism with the unchanged `eps`. Returns the next state and the
    /// anomaly term `a_t` (Eq. 3).
    pub(crate) fn advance(
        &self,
        prev: &[f64; DIM],
        eps: &[f64; DIM],
        event: Option<(&Event, usize)>,
    ) -> ([f64; DIM], [f64; DIM]) {
        let mut term = [0.0; DIM];
        let (mean, e) = match event {
            Some((ev, _)) if ev.anomaly.is_causal() => {
                let (n, c) = (self.normal_mean(prev), self.causal_mean(prev));
                for j in 0..DIM {
                    term[j] = c[j] - n[j];
                }
                (c, *eps)
            }
            Some((ev, _)) => {
                let mut e = *eps;
                for &j in &ev.variables {
                    if let (Some(v), Some(t)) = (e.get_mut(j), term.get_mut(j)) {
                        *v += SHOCK;
                        *t = SHOCK;
                    }
                }
                (self.normal_mean(prev), e)
            }
            None => (self.normal_mean(prev), *eps),
        };
        // `mean + eps`, the reference's order of operands.
        (std::array::from_fn(|j| mean[j] + e[j]), term)
    }
}

/// The true Granger graph: the non-zero pattern of [`LinearVar::matrix`] (self-loops included;
/// x→w, w→y, w→z, y→z).
pub fn graph() -> GrangerGraph {
    let pattern = [
        [true, false, false, false],
        [true, true, false, false],
        [false, true, true, false],
        [false, true, true, true],
    ];
    GrangerGraph::new(
        NAMES.iter().map(|s| s.to_string()).collect(),
        pattern.iter().map(|r| r.to_vec()).collect(),
    )
    .expect("the Linear adjacency is 4x4")
}

/// Generates the Linear benchmark (spec §2.1): `a` is drawn once from `rng` and shared by all
/// series; then one seed per series (training first). Each series draws, from its own seed and
/// in this order: `eps_x, eps_y, eps_w, eps_z` (50 each, `0.4·N(0,1)`), `t_p ~ U{10..39}`, the
/// number of variable draws `U{1..4}`, and the draws `U{0..3}`. Rows start at 0; the training
/// series are the normal runs, the test series the abnormal runs with their normal
/// counterparts.
pub fn linear(config: &TsConfig, rng: &mut impl Rng) -> TsDataset {
    let var = LinearVar::draw(rng);
    let (train_seeds, test_seeds) = series_seeds(config, rng);
    let anomaly = config.anomaly;
    let train = train_seeds
        .iter()
        .map(|&s| series(&var, anomaly, s).normal)
        .collect();
    let test = par_map(&test_seeds, |s| series(&var, anomaly, s));
    TsDataset::new(System::Linear(var), anomaly, train, test)
}

/// One series (normal and abnormal run) from its seed.
fn series(var: &LinearVar, anomaly: AnomalyType, seed: u64) -> TestSeries {
    let mut r = seed::rng(seed);
    // Draw order of the reference: eps_x, eps_y, eps_w, eps_z; stored as x, w, y, z.
    let mut eps = vec![[0.0; DIM]; LEN];
    for j in [X, Y, W, Z] {
        for row in eps.iter_mut() {
            row[j] = NOISE_SD * r.sample::<f64, _>(StandardNormal);
        }
    }
    let start = r.random_range(EVENT_START);
    let n_draws = r.random_range(N_DRAWS);
    let draws: Vec<usize> = (0..n_draws).map(|_| r.random_range(0..DIM)).collect();
    let event = Event::new(anomaly, start, LEN, None, draws);

    let mut normal = vec![[0.0; DIM]; LEN];
    let mut observed = vec![[0.0; DIM]; LEN];
    let mut term = vec![[0.0; DIM]; LEN];
    for t in 1..LEN {
        normal[t] = var.advance(&normal[t - 1], &eps[t], None).0;
        let ev = event.position(t).map(|k| (&event, k));
        (observed[t], term[t]) = var.advance(&observed[t - 1], &eps[t], ev);
    }
    let (labels, root_causes) = event.labels(LEN);
    TestSeries {
        system: System::Linear(*var),
        seed,
        observed: to_rows(&observed),
        normal: to_rows(&normal),
        labels,
        root_causes,
        anomaly_term: to_rows(&term),
        event,
        noise: Innovations::new(DIM, 1, eps.iter().flatten().copied().collect()),
    }
}

fn to_rows(rows: &[[f64; DIM]]) -> Series {
    rows.iter().map(|r| r.to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeseries::World;

    fn data(anomaly: AnomalyType, seed: u64) -> TsDataset {
        linear(&TsConfig::new(20, 40, anomaly), &mut seed::rng(seed))
    }

    fn mat_vec(m: &[[f64; 4]; 4], v: &[f64]) -> Vec<f64> {
        m.iter()
            .map(|r| r.iter().zip(v).map(|(a, b)| a * b).sum())
            .collect()
    }

    #[test]
    fn coefficients_are_shared_and_in_range() {
        let ds = data(AnomalyType::Point, 1);
        let System::Linear(var) = *ds.system() else {
            panic!("linear system expected")
        };
        // |a_k| ∈ [0.2, 0.8] (spec §2.1 item 1).
        assert!(var.a.iter().all(|v| (0.2..=0.8).contains(&v.abs())));
        // `a` is drawn once and shared by all series (spec §2.1 item 1).
        assert!(ds.test().iter().all(|s| *s.system() == System::Linear(var)));
        let m = ds.coefficients().unwrap();
        assert_eq!(m, var.matrix());
        // The graph is the non-zero pattern of the coefficient matrix (spec §2.1 "Returned").
        for (i, row) in m.iter().enumerate() {
            for (j, c) in row.iter().enumerate() {
                assert_eq!(ds.graph().has_edge(j, i), *c != 0.0);
            }
        }
        assert_eq!(ds.graph().edges().len(), 8);
        assert_eq!(ds.names(), ["x", "w", "y", "z"]);
    }

    #[test]
    fn label_rates_and_event_positions() {
        for (anomaly, k) in [
            (AnomalyType::Point, 1),
            (AnomalyType::Sequence, 3),
            (AnomalyType::Causal, 3),
        ] {
            let ds = data(anomaly, 2);
            assert_eq!(ds.train().len(), 20);
            assert_eq!(ds.test().len(), 40);
            for s in ds.test() {
                assert_eq!(s.len(), 50);
                // Exactly 1 (point) or 3 (sequence, causal) labelled steps of 50: 2% / 6%
                // (spec §2.1 "Splits", Table 1).
                assert_eq!(s.labels().iter().filter(|&&l| l).count(), k);
                let ev = s.event();
                // t_p = randint(10, 40) (spec §2.1).
                assert!((10..40).contains(&ev.start));
                assert_eq!(ev.steps, (ev.start..ev.start + k).collect::<Vec<_>>());
                // 1–4 draws with replacement (spec §2.1).
                assert!((1..=4).contains(&ev.draws.len()));
                assert!(ev.variables.iter().all(|&j| j < 4));
                for t in 0..50 {
                    let on = ev.steps.contains(&t);
                    assert_eq!(s.labels()[t], on);
                    let rc: &[usize] = if on { &ev.variables } else { &[] };
                    assert_eq!(s.root_causes()[t], rc);
                }
            }
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = data(AnomalyType::Sequence, 3);
        assert_eq!(a, data(AnomalyType::Sequence, 3));
        assert_ne!(a, data(AnomalyType::Sequence, 4));
        // Rows start at zero (spec §2.1: "Normal run from zeros").
        assert!(a.train().iter().all(|s| s[0] == [0.0; 4]));
    }

    #[test]
    fn non_causal_shock_only_on_event_steps_and_chosen_variables() {
        for anomaly in [AnomalyType::Point, AnomalyType::Sequence] {
            for s in data(anomaly, 5).test() {
                let (ab, n) = (s.innovations(World::Observed), s.innovations(World::Normal));
                let ev = s.event();
                for t in 0..50 {
                    for j in 0..4 {
                        let diff = ab.sub_step(t, 0).unwrap()[j] - n.sub_step(t, 0).unwrap()[j];
                        let chosen = ev.steps.contains(&t) && ev.variables.contains(&j);
                        // The shock is +mul = +2 (spec §2.1), once per chosen variable.
                        if chosen {
                            assert!((diff - 2.0).abs() < 1e-12);
                            assert_eq!(s.anomaly_term()[t][j], 2.0);
                        } else {
                            assert_eq!(diff, 0.0);
                            assert_eq!(s.anomaly_term()[t][j], 0.0);
                        }
                    }
                }
                // Observed equals normal before the event.
                assert_eq!(s.observed()[..ev.start], s.normal()[..ev.start]);
                assert_ne!(s.observed()[ev.start], s.normal()[ev.start]);
            }
        }
    }

    #[test]
    fn causal_changes_the_mechanism_on_event_steps_only() {
        let ds = data(AnomalyType::Causal, 6);
        let System::Linear(var) = *ds.system() else {
            panic!("linear system expected")
        };
        for s in ds.test() {
            let ev = s.event();
            // eps_ab == eps_n for causal runs (spec §2.1).
            assert_eq!(s.innovations(World::Observed), s.innovations(World::Normal));
            // Observed equals normal before the event (spec §2.1: same eps, zeros start).
            assert_eq!(s.observed()[..ev.start], s.normal()[..ev.start]);
            for t in 1..50 {
                let prev: [f64; 4] = s.observed()[t - 1].clone().try_into().unwrap();
                let eps: Vec<f64> = s.noise().step(t).unwrap().to_vec();
                let mech = if ev.steps.contains(&t) {
                    var.causal_matrix()
                } else {
                    var.matrix()
                };
                let expect: Vec<f64> = mat_vec(&mech, &prev)
                    .iter()
                    .zip(&eps)
                    .map(|(m, e)| m + e)
                    .collect();
                for (o, e) in s.observed()[t].iter().zip(&expect) {
                    assert!((o - e).abs() < 1e-12);
                }
                // a_t = f̃(x_{t-1}) − f(x_{t-1}) on event steps, 0 elsewhere (Eq. 3).
                let diff = if ev.steps.contains(&t) {
                    let (c, n) = (
                        mat_vec(&var.causal_matrix(), &prev),
                        mat_vec(&var.matrix(), &prev),
                    );
                    c.iter().zip(&n).map(|(c, n)| c - n).collect()
                } else {
                    vec![0.0; 4]
                };
                for (a, d) in s.anomaly_term()[t].iter().zip(&diff) {
                    assert!((a - d).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn resimulation_is_bit_exact() {
        // θ = 0 must reproduce the stored series bit for bit (spec §10 item 4).
        for anomaly in AnomalyType::ALL {
            for s in data(anomaly, 7).test() {
                for world in [World::Observed, World::Normal] {
                    let x = s.series(world);
                    for t in [0, 5, s.event().start, 49] {
                        assert_eq!(s.resimulate(t, &x[t], world).unwrap(), x[t..]);
                    }
                }
            }
        }
    }

    #[test]
    fn linear_closed_form_of_an_action() {
        // x̃_{t+i} = x_{t+i} + A^i θ (spec §10 item 3, Eq. 11), for non-causal series at any t
        // (the shock is additive); for causal series while no event step lies in (t, t+i].
        let theta = [0.7, -1.3, 0.4, 2.1];
        for anomaly in AnomalyType::ALL {
            let ds = data(anomaly, 8);
            let a = ds.coefficients().unwrap();
            for s in ds.test().iter().take(10) {
                for t in [0, 3, 12, 30, 45] {
                    let x = s.observed();
                    let state: Vec<f64> = x[t].iter().zip(theta).map(|(v, d)| v + d).collect();
                    let cf = s.resimulate(t, &state, World::Observed).unwrap();
                    let mut delta = theta.to_vec();
                    for (i, row) in cf.iter().enumerate() {
                        let hit = s.event().steps.iter().any(|&e| e > t && e <= t + i);
                        if anomaly.is_causal() && hit {
                            break;
                        }
                        for j in 0..4 {
                            assert!((row[j] - (x[t + i][j] + delta[j])).abs() < 1e-12);
                        }
                        delta = mat_vec(&a, &delta);
                    }
                }
            }
        }
    }

    #[test]
    fn step_rejects_bad_input() {
        let ds = data(AnomalyType::Point, 9);
        let s = &ds.test()[0];
        assert!(s.step(0, &[0.0; 4], World::Observed).is_err());
        assert!(s.step(50, &[0.0; 4], World::Observed).is_err());
        assert!(s.step(1, &[0.0; 3], World::Observed).is_err());
        assert!(s.resimulate(50, &[0.0; 4], World::Observed).is_err());
        assert!(s.resimulate(49, &[0.0; 5], World::Observed).is_err());
        assert_eq!(
            s.resimulate(49, &[1.0; 4], World::Observed).unwrap(),
            vec![vec![1.0; 4]]
        );
    }

    #[test]
    fn series_regenerate_from_their_seed() {
        // Training series are the normal runs of their seeds: the same seed as a test series
        // gives the test series' normal counterpart (spec §2.1 "Splits").
        let ds = data(AnomalyType::Point, 10);
        let System::Linear(var) = *ds.system() else {
            panic!("linear system expected")
        };
        let s = &ds.test()[0];
        assert_eq!(series(&var, AnomalyType::Point, s.seed()), *s);
        // Training statistics are of the order of the reference's (mean ≈ 0, std ≈ 0.41–0.56
        // for its `a`, spec §2.1); our `a` differs, so loosely: std in [0.3, 3], |mean| < 0.3.
        for j in 0..4 {
            let v: Vec<f64> = ds
                .train()
                .iter()
                .flat_map(|s| s.iter().map(|r| r[j]))
                .collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            assert!((0.3..3.0).contains(&sd), "variable {j}: sd {sd}");
            assert!(m.abs() < 0.3, "variable {j}: mean {m}");
        }
    }
}
