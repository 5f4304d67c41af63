//! Multivariate time-series benchmarks (RecAD spec §2): the Linear VAR (§2.1) and the
//! Lotka-Volterra system (§2.2) with point, sequence and causal anomalies, each test series
//! paired with its anomaly-free counterpart, plus an exact raw-unit one-step simulator for
//! counterfactual continuations (spec §10 items 3-5).
//!
//! Every series keeps its own innovations (Linear: one draw per step; Lotka-Volterra: all 10
//! fine-step draws per output step), so [`TestSeries::resimulate`] with the stored state
//! reproduces the observed series bit for bit, which the reference's z-space re-simulation does
//! not (spec §9 item 4, §10 item 4).
//!
//! Randomness: the generators draw the dataset-level parameters (Linear `a`) from the caller's
//! generator, then one `u64` seed per series (training series first, then test series), and
//! draw everything of a series from `remedy_core::seed::rng(seed)` in a fixed order. The result
//! depends only on the caller's generator state and the [`TsConfig`], and any series can be
//! regenerated from its seed (spec §10 item 5).

pub mod export;
pub mod linear;
pub mod lotka_volterra;

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use remedy_core::{Error, GrangerGraph, Result};

pub use export::{noise_table, tables, test_normal_table, test_table, train_table};
pub use linear::{LinearVar, linear};
pub use lotka_volterra::lotka_volterra;

/// One series: `rows[t][j]` is variable `j` at step `t` (raw units).
pub type Series = Vec<Vec<f64>>;

/// The kind of injected anomaly (spec §2.1, §2.2; paper Eq. 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnomalyType {
    /// Non-causal shock on one step: the chosen variables' innovations get `+mul` (Linear +2,
    /// Lotka-Volterra +100).
    #[default]
    Point,
    /// The same non-causal shock on 3 consecutive steps.
    Sequence,
    /// A 3-step mechanism change: Linear Eq. (14) with `b = 3a`; Lotka-Volterra the clipped
    /// first-slope blow-up of spec §2.2.
    Causal,
}

impl AnomalyType {
    /// All types, in the order of their names in error messages.
    pub const ALL: [AnomalyType; 3] = [
        AnomalyType::Point,
        AnomalyType::Sequence,
        AnomalyType::Causal,
    ];

    /// The lower-case name (`point`, `sequence`, `causal`).
    pub fn name(self) -> &'static str {
        match self {
            AnomalyType::Point => "point",
            AnomalyType::Sequence => "sequence",
            AnomalyType::Causal => "causal",
        }
    }

    /// Number of consecutive event steps (the reference's `adlength`): 1 for point anomalies,
    /// 3 for sequence and causal ones.
    pub fn length(self) -> usize {
        match self {
            AnomalyType::Point => 1,
            AnomalyType::Sequence | AnomalyType::Causal => 3,
        }
    }

    /// True for the mechanism change (structural intervention, `f -> f̃`, Eq. 3).
    pub fn is_causal(self) -> bool {
        self == AnomalyType::Causal
    }
}

impl fmt::Display for AnomalyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AnomalyType {
    type Err = Error;

    /// Parses `point`, `sequence` or `causal` (case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self> {
        let key = s.trim().to_ascii_lowercase();
        AnomalyType::ALL
            .into_iter()
            .find(|a| a.name() == key)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown anomaly type '{s}' (valid: point, sequence, causal)"
                ))
            })
    }
}

/// Which of the two time-series benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsBenchmark {
    /// The 4-variable linear VAR(1) (spec §2.1).
    Linear,
    /// The 20-variable multi-species Lotka-Volterra system (spec §2.2).
    LotkaVolterra,
}

impl TsBenchmark {
    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TsBenchmark::Linear => "linear",
            TsBenchmark::LotkaVolterra => "lotka_volterra",
        }
    }
}

impl fmt::Display for TsBenchmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TsBenchmark {
    type Err = Error;

    /// Parses `linear`, or `lotka_volterra` (also `lotka-volterra`, `lv`), case-insensitive.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "linear" => Ok(TsBenchmark::Linear),
            "lotka_volterra" | "lotka-volterra" | "lv" => Ok(TsBenchmark::LotkaVolterra),
            _ => Err(Error::invalid(format!(
                "unknown time-series benchmark '{s}' (valid: linear, lotka_volterra)"
            ))),
        }
    }
}

/// Size and anomaly type of a generated benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsConfig {
    /// Number of normal training series (reference: 1000, spec §2.1 "Splits").
    pub n_train: usize,
    /// Number of abnormal test series (reference: 5000, spec §2.1 "Splits").
    pub n_test: usize,
    /// The anomaly injected into every test series.
    pub anomaly: AnomalyType,
}

impl TsConfig {
    /// A configuration with the given sizes and anomaly type.
    pub fn new(n_train: usize, n_test: usize, anomaly: AnomalyType) -> Self {
        TsConfig {
            n_train,
            n_test,
            anomaly,
        }
    }
}

impl Default for TsConfig {
    /// The paper's sizes: 1000 training and 5000 test series (Table 1; spec §2.1, §2.2), point
    /// anomalies.
    fn default() -> Self {
        TsConfig::new(1000, 5000, AnomalyType::Point)
    }
}

/// Generates the named benchmark ([`linear()`] or [`lotka_volterra()`]).
pub fn generate(benchmark: TsBenchmark, config: &TsConfig, rng: &mut impl Rng) -> TsDataset {
    match benchmark {
        TsBenchmark::Linear => linear(config, rng),
        TsBenchmark::LotkaVolterra => lotka_volterra(config, rng),
    }
}

/// Which innovations and mechanisms a re-simulation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum World {
    /// The series' own world: the stored innovations with the anomaly term (the non-causal
    /// shock, or the abnormal mechanism on causal event steps). Re-simulating it from the
    /// observed state reproduces the observed series.
    Observed,
    /// The anomaly-free world: the same innovations without the anomaly term and the normal
    /// mechanism everywhere. Re-simulating it from the normal state reproduces the normal
    /// counterpart.
    Normal,
}

/// The dynamical system behind a benchmark, with everything needed to step it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum System {
    /// The linear VAR(1) with its coefficients (spec §2.1).
    Linear(LinearVar),
    /// The Lotka-Volterra system with the reference parameters (spec §2.2; the constants are in
    /// [`lotka_volterra`](mod@lotka_volterra)).
    LotkaVolterra,
}

impl System {
    /// Which benchmark this is.
    pub fn benchmark(&self) -> TsBenchmark {
        match self {
            System::Linear(_) => TsBenchmark::Linear,
            System::LotkaVolterra => TsBenchmark::LotkaVolterra,
        }
    }

    /// Number of variables.
    pub fn dim(&self) -> usize {
        match self {
            System::Linear(_) => linear::DIM,
            System::LotkaVolterra => lotka_volterra::DIM,
        }
    }

    /// Number of steps per series.
    pub fn series_len(&self) -> usize {
        match self {
            System::Linear(_) => linear::LEN,
            System::LotkaVolterra => lotka_volterra::LEN,
        }
    }

    /// Innovation draws per output step (Linear 1; Lotka-Volterra 10, one per fine step).
    pub fn sub_steps(&self) -> usize {
        match self {
            System::Linear(_) => 1,
            System::LotkaVolterra => lotka_volterra::DOWNSAMPLE,
        }
    }

    /// The non-causal shock added to the chosen variables' innovation (spec §2.1 `mul = 2`,
    /// §2.2 `+100`).
    pub fn shock(&self) -> f64 {
        match self {
            System::Linear(_) => linear::SHOCK,
            System::LotkaVolterra => lotka_volterra::SHOCK,
        }
    }

    /// Variable names, in storage order.
    pub fn names(&self) -> Vec<String> {
        match self {
            System::Linear(_) => linear::NAMES.iter().map(|s| s.to_string()).collect(),
            System::LotkaVolterra => lotka_volterra::names(),
        }
    }

    /// The true Granger graph (row = target, self-loops included).
    pub fn graph(&self) -> GrangerGraph {
        match self {
            System::Linear(_) => linear::graph(),
            System::LotkaVolterra => lotka_volterra::graph(),
        }
    }

    /// One output step: the state after `prev` given the step's innovations (`sub_steps × dim`
    /// values) and, in the observed world on an event step, the event and the position of the
    /// step within it. Returns the next state and the anomaly term `a_t` (Eq. 3, raw units).
    fn advance(
        &self,
        prev: &[f64],
        noise: &[f64],
        event: Option<(&Event, usize)>,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let d = self.dim();
        if prev.len() != d {
            return Err(Error::invalid(format!(
                "state has {} values, the {} system {d}",
                prev.len(),
                self.benchmark()
            )));
        }
        if noise.len() != d * self.sub_steps() {
            return Err(Error::invalid(format!(
                "step innovations have {} values, the {} system needs {}",
                noise.len(),
                self.benchmark(),
                d * self.sub_steps()
            )));
        }
        match self {
            System::Linear(var) => {
                let (next, term) = var.advance(&to_array(prev), &to_array(noise), event);
                Ok((next.to_vec(), term.to_vec()))
            }
            System::LotkaVolterra => {
                let (next, term) = lotka_volterra::advance(&to_array(prev), noise, event);
                Ok((next.to_vec(), term.to_vec()))
            }
        }
    }
}

/// Copies a slice whose length was checked into an array.
fn to_array<const N: usize>(v: &[f64]) -> [f64; N] {
    let mut a = [0.0; N];
    for (dst, src) in a.iter_mut().zip(v) {
        *dst = *src;
    }
    a
}

/// The anomaly event of one test series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The anomaly type.
    pub anomaly: AnomalyType,
    /// The first event step (output index `t_p`; for Lotka-Volterra after the burn-in drop).
    pub start: usize,
    /// The injected and labelled steps: `start, start+1, …` (`anomaly.length()` of them), less
    /// those past the end of the series.
    pub steps: Vec<usize>,
    /// Lotka-Volterra only: the chosen group, 0 = prey, 1 = predators.
    pub group: Option<usize>,
    /// The raw variable draws, with replacement, in draw order, as global variable indices.
    /// Multiplicity matters only for the Lotka-Volterra causal slope blow-up (spec §2.2).
    pub draws: Vec<usize>,
    /// The distinct chosen variables, ascending: the root causes (anomaly-term mask).
    pub variables: Vec<usize>,
}

impl Event {
    /// The position of step `t` within the event (0, 1, 2), or `None` off the event.
    pub fn position(&self, t: usize) -> Option<usize> {
        self.steps.iter().position(|&s| s == t)
    }

    /// Per-step labels of a series of `len` steps (true on event steps) and per-step root
    /// causes (the event's variables on event steps, empty elsewhere).
    pub fn labels(&self, len: usize) -> (Vec<bool>, Vec<Vec<usize>>) {
        let labels: Vec<bool> = (0..len).map(|t| self.position(t).is_some()).collect();
        let root_causes = labels
            .iter()
            .map(|&l| {
                if l {
                    self.variables.clone()
                } else {
                    Vec::new()
                }
            })
            .collect();
        (labels, root_causes)
    }

    /// Builds an event whose steps run from `start` for `anomaly.length()` steps, truncated at
    /// `len`.
    fn new(
        anomaly: AnomalyType,
        start: usize,
        len: usize,
        group: Option<usize>,
        draws: Vec<usize>,
    ) -> Event {
        let steps = (start..start + anomaly.length())
            .filter(|&t| t < len)
            .collect();
        let mut variables = draws.clone();
        variables.sort_unstable();
        variables.dedup();
        Event {
            anomaly,
            start,
            steps,
            group,
            draws,
            variables,
        }
    }
}

/// The innovations of one series: for every step, `sub_steps` draws of `dim` values, stored
/// flat as `[t][k][j]`. Step 0 holds the draws that produced the first stored state (never used
/// by re-simulation, which starts from a given state).
#[derive(Debug, Clone, PartialEq)]
pub struct Innovations {
    dim: usize,
    sub_steps: usize,
    values: Vec<f64>,
}

impl Innovations {
    fn new(dim: usize, sub_steps: usize, values: Vec<f64>) -> Self {
        Innovations {
            dim,
            sub_steps,
            values,
        }
    }

    /// Number of variables.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Draws per step (Linear 1, Lotka-Volterra 10).
    pub fn sub_steps(&self) -> usize {
        self.sub_steps
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.values.len() / (self.dim * self.sub_steps).max(1)
    }

    /// True when there is no step.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All values, flat `[t][k][j]`.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The `sub_steps × dim` draws of step `t`.
    pub fn step(&self, t: usize) -> Option<&[f64]> {
        let w = self.dim * self.sub_steps;
        self.values.get(t * w..(t + 1) * w)
    }

    /// The `dim` draws of sub-step `k` of step `t` (the last sub-step produces the stored
    /// state).
    pub fn sub_step(&self, t: usize, k: usize) -> Option<&[f64]> {
        if k >= self.sub_steps {
            return None;
        }
        let i = (t * self.sub_steps + k) * self.dim;
        self.values.get(i..i + self.dim)
    }
}

/// One abnormal test series with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSeries {
    system: System,
    seed: u64,
    observed: Series,
    normal: Series,
    labels: Vec<bool>,
    root_causes: Vec<Vec<usize>>,
    anomaly_term: Series,
    event: Event,
    noise: Innovations,
}

impl TestSeries {
    /// The system the series was generated by.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// The per-series seed: `remedy_core::seed::rng(seed)` regenerates the series.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.observed.len()
    }

    /// True when the series has no step.
    pub fn is_empty(&self) -> bool {
        self.observed.is_empty()
    }

    /// The observed (abnormal) series, raw units.
    pub fn observed(&self) -> &[Vec<f64>] {
        &self.observed
    }

    /// The anomaly-free counterpart: same initial state and innovations, no anomaly term.
    pub fn normal(&self) -> &[Vec<f64>] {
        &self.normal
    }

    /// The series of the given world ([`World::Observed`] or [`World::Normal`]).
    pub fn series(&self, world: World) -> &[Vec<f64>] {
        match world {
            World::Observed => &self.observed,
            World::Normal => &self.normal,
        }
    }

    /// Per-step label: true on the (injected) event steps.
    pub fn labels(&self) -> &[bool] {
        &self.labels
    }

    /// Per-step root-cause variables: the chosen variables on event steps, empty elsewhere
    /// (the reference's anomaly-term mask; also for causal anomalies, spec §2.1).
    pub fn root_causes(&self) -> &[Vec<usize>] {
        &self.root_causes
    }

    /// Per-step anomaly term `a_t` per variable, raw units (Eq. 3): the shock on non-causal
    /// event steps; on causal event steps the abnormal mechanism's value minus the normal
    /// mechanism's value at the same previous state (before clipping at 0 for
    /// Lotka-Volterra); zero elsewhere.
    pub fn anomaly_term(&self) -> &[Vec<f64>] {
        &self.anomaly_term
    }

    /// The anomaly event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The anomaly-free innovations (shared by both worlds; the anomaly is applied on top by
    /// the simulator).
    pub fn noise(&self) -> &Innovations {
        &self.noise
    }

    /// The innovations of a world. [`World::Observed`] adds the non-causal shock to the last
    /// sub-step of each event step on the chosen variables (the reference's `eps_ab`); causal
    /// anomalies change the mechanism, not the innovations, so both worlds share them.
    pub fn innovations(&self, world: World) -> Innovations {
        let mut out = self.noise.clone();
        if world == World::Observed && !self.event.anomaly.is_causal() {
            let (d, k) = (out.dim, out.sub_steps);
            for &t in &self.event.steps {
                for &j in &self.event.variables {
                    if let Some(v) = out.values.get_mut((t * k + k - 1) * d + j) {
                        *v += self.system.shock();
                    }
                }
            }
        }
        out
    }

    /// The exact one-step simulator (spec §10 items 3-4): the state at step `t` given the
    /// (possibly counterfactual) state `prev` at `t - 1`, in raw units, using this series' own
    /// innovations; in [`World::Observed`] the anomaly term is included (the shock, or the
    /// abnormal mechanism on causal event steps). Fails when `t` is 0 or past the end, or `prev`
    /// has the wrong length.
    pub fn step(&self, t: usize, prev: &[f64], world: World) -> Result<Vec<f64>> {
        if t == 0 || t >= self.len() {
            return Err(Error::invalid(format!(
                "step {t} out of range: a series of {} steps can be stepped to 1..{}",
                self.len(),
                self.len()
            )));
        }
        let noise = self
            .noise
            .step(t)
            .ok_or_else(|| Error::invalid(format!("no innovations stored for step {t}")))?;
        let event = match world {
            World::Observed => self.event.position(t).map(|k| (&self.event, k)),
            World::Normal => None,
        };
        Ok(self.system.advance(prev, noise, event)?.0)
    }

    /// Re-simulates the continuation from step `t` with the state at `t` replaced by `state`
    /// (e.g. the observed state plus an action θ). Returns the rows `t..len`, the first being
    /// `state`. With `state = series(world)[t]` this reproduces `series(world)[t..]` bit for
    /// bit.
    pub fn resimulate(&self, t: usize, state: &[f64], world: World) -> Result<Series> {
        if t >= self.len() {
            return Err(Error::invalid(format!(
                "step {t} out of range: the series has {} steps",
                self.len()
            )));
        }
        if state.len() != self.system.dim() {
            return Err(Error::invalid(format!(
                "state has {} values, the series {}",
                state.len(),
                self.system.dim()
            )));
        }
        let mut rows = Vec::with_capacity(self.len() - t);
        rows.push(state.to_vec());
        for s in t + 1..self.len() {
            let next = self.step(s, &rows[rows.len() - 1], world)?;
            rows.push(next);
        }
        Ok(rows)
    }
}

/// A generated time-series benchmark: normal training series, abnormal test series with ground
/// truth, and the true Granger graph.
#[derive(Debug, Clone, PartialEq)]
pub struct TsDataset {
    system: System,
    anomaly: AnomalyType,
    names: Vec<String>,
    graph: GrangerGraph,
    train: Vec<Series>,
    test: Vec<TestSeries>,
}

impl TsDataset {
    fn new(
        system: System,
        anomaly: AnomalyType,
        train: Vec<Series>,
        test: Vec<TestSeries>,
    ) -> Self {
        TsDataset {
            names: system.names(),
            graph: system.graph(),
            system,
            anomaly,
            train,
            test,
        }
    }

    /// Which benchmark this is.
    pub fn benchmark(&self) -> TsBenchmark {
        self.system.benchmark()
    }

    /// The generating system (Linear coefficients included).
    pub fn system(&self) -> &System {
        &self.system
    }

    /// The anomaly type of the test series.
    pub fn anomaly(&self) -> AnomalyType {
        self.anomaly
    }

    /// Variable names, in storage order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of variables.
    pub fn dim(&self) -> usize {
        self.names.len()
    }

    /// Steps per series.
    pub fn series_len(&self) -> usize {
        self.system.series_len()
    }

    /// The true Granger graph (row = target, self-loops included).
    pub fn graph(&self) -> &GrangerGraph {
        &self.graph
    }

    /// Linear only: the true coefficient matrix (row = target, column = source, order x, w, y,
    /// z), spec §2.1.
    pub fn coefficients(&self) -> Option<[[f64; 4]; 4]> {
        match &self.system {
            System::Linear(var) => Some(var.matrix()),
            System::LotkaVolterra => None,
        }
    }

    /// The normal training series.
    pub fn train(&self) -> &[Series] {
        &self.train
    }

    /// The abnormal test series.
    pub fn test(&self) -> &[TestSeries] {
        &self.test
    }
}

/// Maps `f` over the per-series seeds on all available cores, keeping the order (the result
/// does not depend on the number of threads).
fn par_map<T: Send>(seeds: &[u64], f: impl Fn(u64) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(seeds.len());
    if threads <= 1 {
        return seeds.iter().map(|&s| f(s)).collect();
    }
    let chunk = seeds.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|c| scope.spawn(move || c.iter().map(|&s| f(s)).collect::<Vec<T>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Draws one seed per series: the training series first, then the test series.
fn series_seeds(config: &TsConfig, rng: &mut impl Rng) -> (Vec<u64>, Vec<u64>) {
    let train = (0..config.n_train).map(|_| rng.random()).collect();
    let test = (0..config.n_test).map(|_| rng.random()).collect();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anomaly_type_parses_and_prints() {
        for a in AnomalyType::ALL {
            assert_eq!(a.to_string().parse::<AnomalyType>().unwrap(), a);
        }
        assert_eq!(
            " Causal ".parse::<AnomalyType>().unwrap(),
            AnomalyType::Causal
        );
        let e = "trend".parse::<AnomalyType>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown anomaly type 'trend' (valid: point, sequence, causal)"
        );
        // adlength: 1 for point, 3 for sequence and causal (spec §2.1).
        assert_eq!(AnomalyType::Point.length(), 1);
        assert_eq!(AnomalyType::Sequence.length(), 3);
        assert_eq!(AnomalyType::Causal.length(), 3);
    }

    #[test]
    fn benchmark_parses() {
        assert_eq!(
            "lv".parse::<TsBenchmark>().unwrap(),
            TsBenchmark::LotkaVolterra
        );
        assert_eq!(
            "linear".parse::<TsBenchmark>().unwrap(),
            TsBenchmark::Linear
        );
        assert!("msds".parse::<TsBenchmark>().is_err());
    }

    #[test]
    fn default_config_is_the_papers() {
        // 1000 training / 5000 test series (spec §2.1 "Splits", Table 1).
        let c = TsConfig::default();
        assert_eq!((c.n_train, c.n_test), (1000, 5000));
    }

    #[test]
    fn par_map_keeps_order() {
        let seeds: Vec<u64> = (0..37).collect();
        assert_eq!(
            par_map(&seeds, |s| s * 2),
            seeds.iter().map(|s| s * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn innovations_index() {
        let inn = Innovations::new(2, 3, (0..12).map(f64::from).collect());
        assert_eq!(inn.len(), 2);
        assert_eq!(inn.step(1).unwrap(), &[6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
        assert_eq!(inn.sub_step(1, 2).unwrap(), &[10.0, 11.0]);
        assert!(inn.sub_step(1, 3).is_none());
        assert!(inn.step(2).is_none());
    }
}
