//! What-if queries through `fit` on data drawn from known SCMs, against their closed forms:
//! a linear-Gaussian SEM (the model family of the PC and LiNGAM literature) and a non-linear
//! additive-noise model (Hoyer et al. 2009: `x_j = f_j(pa_j) + u_j`). A counterfactual keeps
//! the row's true noise, so its closed form is the SCM run forward on that noise with the
//! intervention; an intervention's mean and sd follow from the noise laws.

use rand::Rng;
use remedy_app::{FitConfig, Fitted, RecourseKind, fit};
use remedy_core::{Column, Dag, Table, seed};
use remedy_nn::NoObserver;

const NAMES: [&str; 4] = ["A", "B", "C", "D"];

/// Standard normal draws (Box–Muller).
fn gauss(rng: &mut impl Rng) -> f64 {
    let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A structural causal model over A → B → C → D with A → C: the mechanisms and the noise sds.
struct Scm {
    /// `x_j` from the values of the nodes before it and its noise.
    f: fn(usize, &[f64], f64) -> f64,
    noise_sd: [f64; 4],
}

/// Linear-Gaussian: B = 1.5 A + u_B, C = −0.8 B + 0.5 A + u_C, D = 2 C + u_D.
const LINEAR: Scm = Scm {
    f: |j, x, u| match j {
        0 => u,
        1 => 1.5 * x[0] + u,
        2 => -0.8 * x[1] + 0.5 * x[0] + u,
        _ => 2.0 * x[2] + u,
    },
    noise_sd: [1.0, 0.5, 1.0, 0.7],
};

/// Non-linear additive noise: B = 2 tanh(A) + u_B, C = 0.5 B² − A + u_C, D = sin(C) + C/2 + u_D.
const NONLINEAR: Scm = Scm {
    f: |j, x, u| match j {
        0 => u,
        1 => 2.0 * x[0].tanh() + u,
        2 => 0.5 * x[1] * x[1] - x[0] + u,
        _ => x[2].sin() + 0.5 * x[2] + u,
    },
    noise_sd: [1.0, 0.4, 0.5, 0.3],
};

impl Scm {
    /// The row the noise `u` gives, with node `j` shifted by `shift[j]` or set to `set[j]`.
    fn forward(&self, u: &[f64], shift: &[f64; 4], set: &[Option<f64>; 4]) -> Vec<f64> {
        let mut x = vec![0.0; 4];
        for j in 0..4 {
            x[j] = set[j].unwrap_or_else(|| (self.f)(j, &x, u[j]) + shift[j]);
        }
        x
    }

    /// `n` noise vectors and their rows.
    fn sample(&self, n: usize, s: u64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut rng = seed::rng(s);
        let u: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..4).map(|j| self.noise_sd[j] * gauss(&mut rng)).collect())
            .collect();
        let x = u
            .iter()
            .map(|u| self.forward(u, &[0.0; 4], &[None; 4]))
            .collect();
        (u, x)
    }
}

fn table(rows: &[Vec<f64>]) -> Table {
    Table::new(
        NAMES
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

fn fitted(scm: &Scm, s: u64) -> Fitted {
    let dag = Dag::new(&NAMES, &[("A", "B"), ("B", "C"), ("A", "C"), ("C", "D")]).unwrap();
    let config = FitConfig {
        seed: s,
        recourse: RecourseKind::Search,
        ..FitConfig::default()
    };
    let (_, train) = scm.sample(10_000, 100 + s);
    fit(&table(&train), &dag, None, &config, &mut NoObserver).unwrap()
}

fn sd(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// The root-mean-square error of each feature of `got` against `want`, in sds of the feature
/// on the normal rows `normal`.
fn rms_in_sd(got: &[Vec<f64>], want: &[Vec<f64>], normal: &[Vec<f64>]) -> Vec<f64> {
    (0..4)
        .map(|j| {
            let mse = got
                .iter()
                .zip(want)
                .map(|(g, w)| (g[j] - w[j]).powi(2))
                .sum::<f64>()
                / got.len() as f64;
            mse.sqrt() / sd(&normal.iter().map(|r| r[j]).collect::<Vec<_>>())
        })
        .collect()
}

/// Counterfactuals of 300 new rows under `questions` (`--shift` texts, `--do` texts, and the
/// same as shifts and set values), against the SCM run on each row's true noise: every
/// feature within `tol` sd (RMS).
fn counterfactuals_match(model: &Fitted, scm: &Scm, tol: f64, s: u64, questions: &[Question]) {
    let (u, x) = scm.sample(300, 200 + s);
    for (shifts, sets, shift, set) in questions {
        let iv = model
            .intervention(
                &shifts.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                &sets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            )
            .unwrap();
        let got: Vec<Vec<f64>> = model
            .counterfactual(&table(&x), &iv)
            .unwrap()
            .into_iter()
            .map(|r| r.values)
            .collect();
        let want: Vec<Vec<f64>> = u.iter().map(|u| scm.forward(u, shift, set)).collect();
        let err = rms_in_sd(&got, &want, &x);
        println!("seed {s}, {shifts:?} {sets:?}: RMS error in sd {err:.4?}");
        assert!(
            err.iter().all(|&e| e <= tol),
            "{shifts:?} {sets:?}: {err:?}"
        );
        // The set node takes its value exactly; nodes upstream of the intervention keep theirs.
        if let Some(a) = set[0] {
            assert!(got.iter().all(|r| r[0] == a));
        } else {
            assert!(got.iter().zip(&x).all(|(g, x)| g[0] == x[0]));
        }
    }
}

/// do(`node` = `value`) on the population: each feature's mean within `tol` sd of the true
/// interventional mean and its sd within 10% of the true one, the truth from 200,000 rows of
/// the SCM under the intervention (the closed forms of the linear SCM are checked against it
/// too).
fn intervention_matches(
    model: &Fitted,
    scm: &Scm,
    (node, value): (usize, f64),
    tol: f64,
    s: u64,
    closed_form: Option<[(f64, f64); 4]>,
) {
    let iv = model
        .intervention(&[], &[format!("{}={value}", NAMES[node])])
        .unwrap();
    let intervened = model
        .intervene(&iv, 20_000, &mut seed::rng(s))
        .unwrap()
        .interventional;
    let (u, normal) = scm.sample(200_000, 300 + s);
    let mut set = [None; 4];
    set[node] = Some(value);
    let truth: Vec<Vec<f64>> = u.iter().map(|u| scm.forward(u, &[0.0; 4], &set)).collect();
    for j in 0..4 {
        let col = |rows: &[Vec<f64>]| rows.iter().map(|r| r[j]).collect::<Vec<f64>>();
        let (t, g, n) = (col(&truth), col(&intervened), col(&normal));
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        if let Some(cf) = closed_form {
            assert!((mean(&t) - cf[j].0).abs() < 0.02 * sd(&n) && (sd(&t) - cf[j].1).abs() < 0.02);
        }
        let mean_err = (mean(&g) - mean(&t)).abs() / sd(&n);
        println!(
            "seed {s}, do({}={value}), {}: mean {:.4} vs {:.4} ({mean_err:.4} sd), sd {:.4} vs {:.4}",
            NAMES[node],
            NAMES[j],
            mean(&g),
            mean(&t),
            sd(&g),
            sd(&t)
        );
        assert!(mean_err <= tol, "{}: mean off by {mean_err} sd", NAMES[j]);
        if sd(&t) > 0.0 {
            assert!(
                (sd(&g) / sd(&t) - 1.0).abs() <= 0.1,
                "{}: sd {} vs {}",
                NAMES[j],
                sd(&g),
                sd(&t)
            );
        } else {
            assert_eq!(sd(&g), 0.0, "{}: the set node varies", NAMES[j]);
        }
    }
}

/// A what-if question: `--shift` texts, `--do` texts, and the same as the SCM's shifts and set
/// values.
type Question = (
    Vec<&'static str>,
    Vec<&'static str>,
    [f64; 4],
    [Option<f64>; 4],
);

/// Fitted on 10,000 normal rows per seed (with 3,000 the linear fit's own error at A = 2,
/// two sd out, reached 0.057 sd: estimation, not the method).
#[test]
fn linear_gaussian_what_if_matches_the_closed_form() {
    // A shift of B by 0.8 (0.5 sd); do(A = 2) (2 sd) with C shifted by −0.5.
    let questions: [Question; 2] = [
        (vec!["B=0.8"], vec![], [0.0, 0.8, 0.0, 0.0], [None; 4]),
        (
            vec!["C=-0.5"],
            vec!["A=2"],
            [0.0, 0.0, -0.5, 0.0],
            [Some(2.0), None, None, None],
        ),
    ];
    // do(B = 1): A ~ N(0, 1); C = −0.8 + 0.5 A + u_C, sd √(0.25 + 1); D = 2 C + u_D,
    // mean −1.6, sd √(4 · 1.25 + 0.49).
    let closed_form = [
        (0.0, 1.0),
        (1.0, 0.0),
        (-0.8, 1.25f64.sqrt()),
        (-1.6, 5.49f64.sqrt()),
    ];
    for s in 1..=3 {
        let model = fitted(&LINEAR, s);
        counterfactuals_match(&model, &LINEAR, 0.05, s, &questions);
        intervention_matches(&model, &LINEAR, (1, 1.0), 0.05, s, Some(closed_form));
    }
}

/// The questions stay where the normal rows have data: within one sd, and do(A = 1) on the
/// population, which keeps B and C on their usual relation to A. A learnt non-linear
/// mechanism has no basis elsewhere: do(B = 1) for every A asks C's regressor about
/// (A, B) pairs the normal rows never held (B follows 2 tanh(A) within 0.4), and gave C's
/// mean 0.09 sd off and its sd 13% low (seed 1); do(A = 2) with C shifted, 2 sd out, gave
/// D 0.20 sd off (docs/RESULTS.md).
#[test]
fn nonlinear_what_if_matches_the_truth() {
    // A shift of B by 0.5 (0.4 sd); do(A = 1) with C shifted by −0.5.
    let questions: [Question; 2] = [
        (vec!["B=0.5"], vec![], [0.0, 0.5, 0.0, 0.0], [None; 4]),
        (
            vec!["C=-0.5"],
            vec!["A=1"],
            [0.0, 0.0, -0.5, 0.0],
            [Some(1.0), None, None, None],
        ),
    ];
    for s in 1..=3 {
        let model = fitted(&NONLINEAR, s);
        counterfactuals_match(&model, &NONLINEAR, 0.15, s, &questions);
        intervention_matches(&model, &NONLINEAR, (0, 1.0), 0.15, s, None);
    }
}
