//! The multi-species Lotka-Volterra benchmark (RecAD spec §2.2, the reference's
//! `datasets/multiple_lotka_volterra.py` with p = 10, d = 2): 10 prey `x0..x9` and 10 predators
//! `y0..y9`, integrated with classical RK4 at `dt = 0.01`, `N(0, σ²)` noise added at every fine
//! step, clipped at 0, downsampled by 10 and stripped of the first 50 samples (100 steps per
//! series).
//!
//! Departure from the reference (spec §2.2 "Bug kept in the generator"): its abnormal
//! trajectory computes RK4 stages 2 and 4 from the *normal* series' predators `y`; here every
//! trajectory (and every re-simulation) uses its own state in all four stages.

use std::ops::{Range, RangeInclusive};

use rand::Rng;
use rand_distr::StandardNormal;
use remedy_core::{GrangerGraph, seed};

use super::{
    AnomalyType, Event, Innovations, Series, System, TestSeries, TsConfig, TsDataset, par_map,
    series_seeds,
};

/// Number of prey (= number of predators), `p = 10` (spec §2.2).
pub const PREY: usize = 10;
/// Block size of the interaction neighbourhood, `d = 2`: B(j) = {2⌊j/2⌋, 2⌊j/2⌋+1}.
pub const BLOCK: usize = 2;
/// Number of variables: prey 0..9, then predators 10..19.
pub const DIM: usize = 2 * PREY;
/// Prey growth rate α (spec §2.2).
pub const ALPHA: f64 = 1.1;
/// Predation rate β (spec §2.2).
pub const BETA: f64 = 0.2;
/// Predator death rate γ (spec §2.2).
pub const GAMMA: f64 = 1.1;
/// Predator growth rate δ (spec §2.2).
pub const DELTA: f64 = 0.2;
/// Crowding coefficient of the prey: the reference writes `2.75*10e-5` = 2.75e-4 (spec §2.2).
pub const CROWDING: f64 = 2.75e-4;
/// Scale of the per-fine-step noise σ (spec §2.2).
pub const SIGMA: f64 = 0.1;
/// Fine integration step (spec §2.2).
pub const DT: f64 = 0.01;
/// Downsampling factor: one output step is 10 fine steps (spec §2.2).
pub const DOWNSAMPLE: usize = 10;
/// Fine time points per simulated series, `T = 1500` (spec §2.2).
pub const FINE_STEPS: usize = 1500;
/// Downsampled samples dropped at the start (spec §2.2 "Output").
pub const BURN_IN: usize = 50;
/// Output steps per series: 1500 / 10 − 50 = 100.
pub const LEN: usize = FINE_STEPS / DOWNSAMPLE - BURN_IN;
/// Initial populations `U(10, 20)` (spec §2.2).
pub const INIT: Range<f64> = 10.0..20.0;
/// Event start `t_p = randint(75, 150)` in downsampled units before the drop (spec §2.2); the
/// output index is `t_p − 50` ∈ [25, 99].
pub const EVENT_START: Range<usize> = 75..150;
/// Number of variable draws `randint(3, 11)`: 3 to 10, with replacement (spec §2.2).
pub const N_DRAWS: RangeInclusive<usize> = 3..=10;
/// Non-causal shock on the chosen variables' noise, raw units (spec §2.2).
pub const SHOCK: f64 = 100.0;
/// Causal first-slope multipliers `lst_val`, indexed by the position in the event (spec §2.2).
pub const SLOPE_MULTIPLIERS: [f64; 3] = [10000.0, 100.0, 100.0];
/// Lower clip of a blown-up slope (spec §2.2).
pub const SLOPE_MIN: f64 = 60000.0;
/// Upper clip of a blown-up slope (spec §2.2).
pub const SLOPE_MAX: f64 = 120000.0;

/// A full state: prey 0..9, then predators 0..9.
pub type State = [f64; DIM];

/// Variable names: `x0..x9` (prey), then `y0..y9` (predators).
pub fn names() -> Vec<String> {
    (0..PREY)
        .map(|j| format!("x{j}"))
        .chain((0..PREY).map(|j| format!("y{j}")))
        .collect()
}

/// The block B(j) = {d⌊j/d⌋, …, d⌊j/d⌋ + d − 1} (spec §2.2).
fn block(j: usize) -> Range<usize> {
    let b = BLOCK * (j / BLOCK);
    b..b + BLOCK
}

/// The true Granger graph (spec §2.2): self-loops, prey j ← predators in B(j), predator j ←
/// prey in B(j).
pub fn graph() -> GrangerGraph {
    let mut adj = vec![vec![false; DIM]; DIM];
    for j in 0..PREY {
        adj[j][j] = true;
        adj[PREY + j][PREY + j] = true;
        for k in block(j) {
            adj[j][PREY + k] = true;
            adj[PREY + j][k] = true;
        }
    }
    GrangerGraph::new(names(), adj).expect("the Lotka-Volterra adjacency is 20x20")
}

/// The vector field (spec §2.2):
/// `ẋ_j = α x_j − β x_j Σ_{k∈B(j)} y_k − 2.75e-4 (x_j/200)²`,
/// `ẏ_j = δ y_j Σ_{k∈B(j)} x_k − γ y_j`.
pub fn derivative(s: &State) -> State {
    let (xs, ys) = s.split_at(PREY);
    let mut d = [0.0; DIM];
    for b in (0..PREY).step_by(BLOCK) {
        let (mut sum_x, mut sum_y) = (0.0, 0.0);
        for k in b..b + BLOCK {
            sum_x += xs[k];
            sum_y += ys[k];
        }
        for j in b..b + BLOCK {
            let (x, y) = (xs[j], ys[j]);
            let q = x / 200.0;
            d[j] = ALPHA * x - BETA * x * sum_y - CROWDING * (q * q);
            d[PREY + j] = DELTA * sum_x * y - GAMMA * y;
        }
    }
    d
}

/// The four RK4 slopes at `s`, all from `s` itself.
fn slopes(s: &State) -> [State; 4] {
    let shifted = |k: &State, h: f64| -> State {
        let mut v = *s;
        for (v, k) in v.iter_mut().zip(k) {
            *v += k * DT / h;
        }
        v
    };
    let k1 = derivative(s);
    let k2 = derivative(&shifted(&k1, 2.0));
    let k3 = derivative(&shifted(&k2, 2.0));
    let k4 = derivative(&shifted(&k3, 1.0));
    [k1, k2, k3, k4]
}

/// `s + (k1 + 2k2 + 2k3 + k4)·dt/6 + eps`, before clipping.
fn rk4_value(s: &State, k: &[State; 4], eps: &State) -> State {
    let mut v = [0.0; DIM];
    for j in 0..DIM {
        v[j] = s[j] + (k[0][j] + 2.0 * k[1][j] + 2.0 * k[2][j] + k[3][j]) * DT / 6.0 + eps[j];
    }
    v
}

/// `max(·, 0)` (the reference's clipping, spec §2.2).
fn clip(v: State) -> State {
    v.map(|x| x.max(0.0))
}

/// One normal fine step: RK4, then the noise, then clipping.
fn fine_step(s: &State, eps: &State) -> State {
    clip(rk4_value(s, &slopes(s), eps))
}

/// The fine step that carries the anomaly, at position `pos` of the event (spec §2.2).
/// Non-causal: `+100` on the chosen variables' noise. Causal: the first slope of each drawn
/// variable (in draw order, so a variable drawn twice is blown up twice, as in the reference's
/// loop) is multiplied by `lst_val[pos]` and clipped into [60000, 120000]; every variable of the
/// chosen group becomes `x + k1·dt/6 + eps`, the other group takes the normal RK4 value. All
/// stages come from the abnormal state itself (the reference's stage-2/4 bug is not kept).
/// Returns the clipped state and the anomaly term (abnormal minus normal value, before
/// clipping).
fn event_step(s: &State, eps: &State, event: &Event, pos: usize) -> (State, State) {
    let k = slopes(s);
    let mut term = [0.0; DIM];
    if event.anomaly.is_causal() {
        let normal = rk4_value(s, &k, eps);
        let mult = SLOPE_MULTIPLIERS[pos.min(SLOPE_MULTIPLIERS.len() - 1)];
        let mut k1 = k[0];
        for &i in &event.draws {
            if let Some(v) = k1.get_mut(i) {
                *v = (*v * mult).clamp(SLOPE_MIN, SLOPE_MAX);
            }
        }
        let group = event.group.unwrap_or(0).min(1);
        let mut next = normal;
        for j in group * PREY..(group + 1) * PREY {
            next[j] = s[j] + k1[j] * DT / 6.0 + eps[j];
            term[j] = next[j] - normal[j];
        }
        (clip(next), term)
    } else {
        let mut e = *eps;
        for &j in &event.variables {
            if let (Some(v), Some(t)) = (e.get_mut(j), term.get_mut(j)) {
                *v += SHOCK;
                *t = SHOCK;
            }
        }
        (clip(rk4_value(s, &k, &e)), term)
    }
}

/// One output step (10 fine steps) from `prev` with the step's `10 × 20` noise draws; on an
/// observed event step (`event` = the event and the position in it) the last fine step, which
/// produces the stored sample, carries the anomaly (spec §2.2: the anomaly is applied on the
/// fine step that produces index `t_p·10`). Returns the state and the anomaly term.
pub(crate) fn advance(
    prev: &State,
    noise: &[f64],
    event: Option<(&Event, usize)>,
) -> (State, State) {
    let mut s = *prev;
    let mut term = [0.0; DIM];
    for (k, chunk) in noise.chunks_exact(DIM).take(DOWNSAMPLE).enumerate() {
        let mut eps = [0.0; DIM];
        eps.copy_from_slice(chunk);
        match event {
            Some((ev, pos)) if k == DOWNSAMPLE - 1 => (s, term) = event_step(&s, &eps, ev, pos),
            _ => s = fine_step(&s, &eps),
        }
    }
    (s, term)
}

/// Generates the Lotka-Volterra benchmark (spec §2.2). One seed per series is drawn from `rng`
/// (training first); each series draws from its own seed, in this order: the initial prey then
/// predators `U(10, 20)`, `t_p ~ U{75..149}`, the group `U{0, 1}`, the number of variable
/// draws `U{3..10}`, the draws `U{0..9}` within the group, then the noise of every fine step
/// (prey then predators). Fine steps 1..490 are burn-in; the 10 × 20 draws of each output step
/// are stored. Training series are normal runs, test series the abnormal runs with their
/// normal counterparts.
pub fn lotka_volterra(config: &TsConfig, rng: &mut impl Rng) -> TsDataset {
    let (train_seeds, test_seeds) = series_seeds(config, rng);
    let anomaly = config.anomaly;
    let train = par_map(&train_seeds, |s| {
        let (s0, noise, _) = draw(anomaly, s);
        to_rows(&normal_run(&s0, &noise))
    });
    let test = par_map(&test_seeds, |s| series(anomaly, s));
    TsDataset::new(System::LotkaVolterra, anomaly, train, test)
}

/// The draws of one series: the state after the burn-in (fine step 490), the stored noise of
/// the 100 output steps (flat `[t][k][j]`), and the event.
fn draw(anomaly: AnomalyType, seed: u64) -> (State, Vec<f64>, Event) {
    let mut r = seed::rng(seed);
    let mut s = [0.0; DIM];
    for v in &mut s {
        *v = r.random_range(INIT);
    }
    let t_p = r.random_range(EVENT_START);
    let group = r.random_range(0..2usize);
    let n_draws = r.random_range(N_DRAWS);
    let draws = (0..n_draws)
        .map(|_| group * PREY + r.random_range(0..PREY))
        .collect();
    let event = Event::new(anomaly, t_p - BURN_IN, LEN, Some(group), draws);
    let mut eps = [0.0; DIM];
    for _ in 0..(BURN_IN - 1) * DOWNSAMPLE {
        for v in &mut eps {
            *v = SIGMA * r.sample::<f64, _>(StandardNormal);
        }
        s = fine_step(&s, &eps);
    }
    let noise = (0..LEN * DOWNSAMPLE * DIM)
        .map(|_| SIGMA * r.sample::<f64, _>(StandardNormal))
        .collect();
    (s, noise, event)
}

/// The 100 normal output rows from the burn-in state.
fn normal_run(s0: &State, noise: &[f64]) -> Vec<State> {
    let mut rows: Vec<State> = Vec::with_capacity(LEN);
    let mut s = *s0;
    for step in noise.chunks_exact(DOWNSAMPLE * DIM) {
        s = advance(&s, step, None).0;
        rows.push(s);
    }
    rows
}

/// One test series from its seed.
fn series(anomaly: AnomalyType, seed: u64) -> TestSeries {
    let (s0, noise, event) = draw(anomaly, seed);
    let normal = normal_run(&s0, &noise);
    let mut observed = normal.clone();
    let mut term = vec![[0.0; DIM]; LEN];
    let w = DOWNSAMPLE * DIM;
    for t in event.start.max(1)..LEN {
        let ev = event.position(t).map(|k| (&event, k));
        (observed[t], term[t]) = advance(&observed[t - 1], &noise[t * w..(t + 1) * w], ev);
    }
    let (labels, root_causes) = event.labels(LEN);
    TestSeries {
        system: System::LotkaVolterra,
        seed,
        observed: to_rows(&observed),
        normal: to_rows(&normal),
        labels,
        root_causes,
        anomaly_term: to_rows(&term),
        event,
        noise: Innovations::new(DIM, DOWNSAMPLE, noise),
    }
}

fn to_rows(rows: &[State]) -> Series {
    rows.iter().map(|r| r.to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeseries::World;

    fn data(anomaly: AnomalyType, seed: u64, n_train: usize, n_test: usize) -> TsDataset {
        lotka_volterra(
            &TsConfig::new(n_train, n_test, anomaly),
            &mut seed::rng(seed),
        )
    }

    #[test]
    fn graph_is_the_block_structure() {
        let g = graph();
        // 20 self-loops + 10 prey × 2 predators + 10 predators × 2 prey (spec §2.2).
        assert_eq!(g.edges().len(), 60);
        let n = g.names().to_vec();
        let idx = |s: &str| n.iter().position(|v| v == s).unwrap();
        assert!(g.has_edge(idx("y0"), idx("x0")) && g.has_edge(idx("y1"), idx("x0")));
        assert!(g.has_edge(idx("x2"), idx("y3")) && g.has_edge(idx("x3"), idx("y3")));
        assert!(!g.has_edge(idx("y2"), idx("x0")));
        assert!(!g.has_edge(idx("x1"), idx("x0")));
        assert!(g.has_edge(idx("y9"), idx("y9")));
    }

    #[test]
    fn labels_events_and_draws() {
        for anomaly in AnomalyType::ALL {
            let ds = data(anomaly, 1, 0, 40);
            assert_eq!(ds.dim(), 20);
            for s in ds.test() {
                assert_eq!(s.len(), 100);
                let ev = s.event();
                // Output event index t_p − 50 ∈ [25, 99] (spec §2.2 "Output").
                assert!((25..100).contains(&ev.start));
                // 1 or 3 labelled steps of 100 (1% / 3%, Table 1), fewer only when the event
                // runs past the end (spec §2.2: later steps "silently not injected").
                let n = s.labels().iter().filter(|&&l| l).count();
                assert_eq!(n, anomaly.length().min(100 - ev.start));
                assert_eq!(ev.steps, (ev.start..ev.start + n).collect::<Vec<_>>());
                // 3–10 draws with replacement inside the chosen group (spec §2.2 items 2-3).
                let g = ev.group.unwrap();
                assert!((3..=10).contains(&ev.draws.len()));
                assert!(ev.draws.iter().all(|&j| (g * 10..g * 10 + 10).contains(&j)));
                for t in 0..100 {
                    let rc: &[usize] = if s.labels()[t] { &ev.variables } else { &[] };
                    assert_eq!(s.root_causes()[t], rc);
                }
                // Observed equals normal before the event.
                assert_eq!(s.observed()[..ev.start], s.normal()[..ev.start]);
            }
        }
    }

    #[test]
    fn populations_are_non_negative_and_finite() {
        for anomaly in AnomalyType::ALL {
            let ds = data(anomaly, 2, 5, 20);
            let all = ds
                .train()
                .iter()
                .chain(ds.test().iter().flat_map(|s| [&s.observed, &s.normal]));
            for rows in all {
                assert!(rows.iter().flatten().all(|v| v.is_finite() && *v >= 0.0));
            }
        }
    }

    #[test]
    fn normal_statistics_match_the_reference() {
        // Spec §2.2 (40 series, seed 42): per-variable mean ≈ 2.5–3.2, std ≈ 2.3–3.0; a loose
        // band for 30 series of another generator: mean in [1.5, 4.5], std in [1.5, 4.5].
        let ds = data(AnomalyType::Point, 3, 30, 0);
        for j in 0..20 {
            let v: Vec<f64> = ds
                .train()
                .iter()
                .flat_map(|s| s.iter().map(|r| r[j]))
                .collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            assert!((1.5..4.5).contains(&m), "variable {j}: mean {m}");
            assert!((1.5..4.5).contains(&sd), "variable {j}: sd {sd}");
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = data(AnomalyType::Causal, 4, 3, 6);
        assert_eq!(a, data(AnomalyType::Causal, 4, 3, 6));
        assert_ne!(a, data(AnomalyType::Causal, 5, 3, 6));
        // A series regenerates from its own seed (spec §10 item 5).
        let s = &a.test()[2];
        assert_eq!(series(AnomalyType::Causal, s.seed()), *s);
    }

    #[test]
    fn non_causal_shock_only_on_event_steps_and_chosen_variables() {
        for anomaly in [AnomalyType::Point, AnomalyType::Sequence] {
            for s in data(anomaly, 6, 0, 20).test() {
                let (ab, n) = (s.innovations(World::Observed), s.innovations(World::Normal));
                let ev = s.event();
                for t in 0..100 {
                    for k in 0..10 {
                        for j in 0..20 {
                            let diff = ab.sub_step(t, k).unwrap()[j] - n.sub_step(t, k).unwrap()[j];
                            // +100 raw on the fine step producing the event sample (spec §2.2).
                            let on = ev.steps.contains(&t) && k == 9 && ev.variables.contains(&j);
                            if on {
                                assert!((diff - 100.0).abs() < 1e-9);
                            } else {
                                assert_eq!(diff, 0.0);
                            }
                        }
                    }
                    for j in 0..20 {
                        let on = ev.steps.contains(&t) && ev.variables.contains(&j);
                        assert_eq!(s.anomaly_term()[t][j], if on { 100.0 } else { 0.0 });
                    }
                }
            }
        }
    }

    #[test]
    fn causal_slope_blow_up() {
        for s in data(AnomalyType::Causal, 7, 0, 20).test() {
            let ev = s.event();
            let g = ev.group.unwrap();
            assert_eq!(s.innovations(World::Observed), s.innovations(World::Normal));
            for t in 0..100 {
                for j in 0..20 {
                    let a = s.anomaly_term()[t][j];
                    if !ev.steps.contains(&t) || j / 10 != g {
                        assert_eq!(a, 0.0);
                    } else if ev.variables.contains(&j) {
                        // Increment ≈ (6e4–1.2e5)·dt/6 = +100…+200 (spec §2.2), minus the
                        // normal RK4 increment of one fine step, which grows to ~±10 once
                        // the populations have blown up (steps 2 and 3 of the event).
                        assert!((60.0..260.0).contains(&a), "t {t} var {j}: {a}");
                    } else {
                        // Unchosen group members only lose the k2–k4 terms.
                        assert!(a.abs() < 30.0, "t {t} var {j}: {a}");
                    }
                }
            }
            // The chosen variables jump on the first event step.
            let t = ev.start;
            for &j in &ev.variables {
                assert!(s.observed()[t][j] > s.normal()[t][j] + 90.0);
            }
        }
    }

    #[test]
    fn resimulation_is_bit_exact() {
        // θ = 0 must reproduce the stored series bit for bit (spec §10 item 4), in the observed
        // world and, with the normal innovations, the normal counterpart.
        for anomaly in AnomalyType::ALL {
            for s in data(anomaly, 8, 0, 15).test() {
                for world in [World::Observed, World::Normal] {
                    let x = s.series(world);
                    for t in [0, s.event().start - 1, s.event().start] {
                        assert_eq!(s.resimulate(t, &x[t], world).unwrap(), x[t..]);
                    }
                }
            }
        }
    }

    #[test]
    fn a_counterfactual_prey_cut_propagates() {
        // Halving the chosen prey before a non-causal event changes later predators: the
        // simulator runs the ODE on the counterfactual state, not on stored values.
        let ds = data(AnomalyType::Point, 9, 0, 5);
        let s = &ds.test()[0];
        let t = s.event().start - 5;
        let mut state = s.observed()[t].clone();
        state[0] *= 0.5;
        let cf = s.resimulate(t, &state, World::Observed).unwrap();
        assert_ne!(cf[3][10], s.observed()[t + 3][10]);
        assert!(cf.iter().flatten().all(|v| v.is_finite() && *v >= 0.0));
    }
}
