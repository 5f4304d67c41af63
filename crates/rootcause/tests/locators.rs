//! The locators on a hand-made linear additive-noise SCM, where the true noise is known exactly.

use rand::Rng;
use remedy_core::traits::CausalModel;
use remedy_core::{Intervention, Result, seed};
use remedy_rootcause::{
    NoiseQuantileConfig, NoiseReference, ReferenceFit, RootCauseLocator, ShapleyConfig,
    ShapleySetRule,
};

/// `x_i = Σ_{j<i} b[i][j]·x_j + u_i`, nodes in topological order, one noise value per node.
struct LinearScm {
    names: Vec<String>,
    b: Vec<Vec<f64>>,
}

impl LinearScm {
    /// The chain X0 → X1 → X2 → X3 with unit coefficients.
    fn chain() -> Self {
        let mut b = vec![vec![0.0; 4]; 4];
        for i in 1..4 {
            b[i][i - 1] = 1.0;
        }
        LinearScm {
            names: (0..4).map(|i| format!("X{i}")).collect(),
            b,
        }
    }

    /// `n` independent nodes.
    fn independent(n: usize) -> Self {
        LinearScm {
            names: (0..n).map(|i| format!("X{i}")).collect(),
            b: vec![vec![0.0; n]; n],
        }
    }

    fn mean_of(&self, i: usize, x: &[f64]) -> f64 {
        (0..i).map(|j| self.b[i][j] * x[j]).sum()
    }
}

impl CausalModel for LinearScm {
    fn node_names(&self) -> &[String] {
        &self.names
    }

    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok((0..x.len()).map(|i| x[i] - self.mean_of(i, x)).collect())
    }

    fn predict(&self, u: &[f64]) -> Result<Vec<f64>> {
        self.counterfactual_from_noise(u, &Intervention::default())
    }

    fn counterfactual_from_noise(&self, u: &[f64], iv: &Intervention) -> Result<Vec<f64>> {
        let mut x = vec![0.0; u.len()];
        for i in 0..u.len() {
            x[i] = match iv.set_of(i) {
                Some(v) => v,
                None => self.mean_of(i, &x) + u[i] + iv.shift_of(i),
            };
        }
        Ok(x)
    }
}

/// The chain with a 2-value noise block per node, `(u_i, −u_i)`: its covariance is singular, so
/// the Mahalanobis rule only works thanks to the ridge.
struct DuplicatedNoise(LinearScm);

impl CausalModel for DuplicatedNoise {
    fn node_names(&self) -> &[String] {
        self.0.node_names()
    }

    fn noise_dims(&self) -> Vec<usize> {
        vec![2; self.0.names.len()]
    }

    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self
            .0
            .abduct(x)?
            .into_iter()
            .flat_map(|u| [u, -u])
            .collect())
    }

    fn predict(&self, u: &[f64]) -> Result<Vec<f64>> {
        let single: Vec<f64> = u.iter().step_by(2).copied().collect();
        self.0.predict(&single)
    }

    fn counterfactual_from_noise(&self, u: &[f64], iv: &Intervention) -> Result<Vec<f64>> {
        let single: Vec<f64> = u.iter().step_by(2).copied().collect();
        self.0.counterfactual_from_noise(&single, iv)
    }
}

/// A standard normal draw (Box–Muller).
fn gauss(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `n` normal rows of `model`, with N(0, 1) noise.
fn normal_rows(model: &LinearScm, n: usize, seed_value: u64) -> Vec<Vec<f64>> {
    let mut rng = seed::rng(seed_value);
    let d = model.names.len();
    (0..n)
        .map(|_| {
            let u: Vec<f64> = (0..d).map(|_| gauss(&mut rng)).collect();
            model.predict(&u).unwrap()
        })
        .collect()
}

#[test]
fn quantile_locator_finds_the_shifted_noise_on_the_chain() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 4000, 1);
    let locator = NoiseQuantileConfig::default()
        .fit(&scm, &normal, &[0, 1, 2, 3])
        .unwrap();
    // [0, 10, 10, 10] has noise (0, 10, 0, 0): only X1's noise is abnormal, although X2 and X3
    // are far from their means too (propagation, paper §3.1 after Definition 3).
    // [10, 10, 10, 20] has noise (10, 0, 0, 10).
    let rows = vec![vec![0.0, 10.0, 10.0, 10.0], vec![10.0, 10.0, 10.0, 20.0]];
    assert_eq!(locator.locate(&rows).unwrap(), vec![vec![1], vec![0, 3]]);
    let scores = locator.scores(&rows).unwrap();
    // Noise 10 lies beyond all 4000 normal values: score ln(4001); noise 0 is central.
    assert!((scores[0][1] - 4001f64.ln()).abs() < 1e-9, "{scores:?}");
    assert!(scores[0][0] < 0.5 && scores[0][2] < 0.5);
    // Gaussian fit agrees on these clear cases.
    let gaussian = NoiseQuantileConfig {
        fit: ReferenceFit::Gaussian,
        ..NoiseQuantileConfig::default()
    }
    .fit(&scm, &normal, &[0, 1, 2, 3])
    .unwrap();
    assert_eq!(gaussian.locate(&rows).unwrap(), vec![vec![1], vec![0, 3]]);
    // Restricting the candidates masks the result; scores follow the candidate order.
    let masked = NoiseQuantileConfig::default()
        .fit(&scm, &normal, &[3, 1])
        .unwrap();
    assert_eq!(masked.candidates(), &[3, 1]);
    assert_eq!(masked.locate(&rows).unwrap(), vec![vec![1], vec![3]]);
    let s = masked.scores(&rows).unwrap();
    assert!(s[0][1] > s[0][0] && s[1][0] > s[1][1]);
}

#[test]
fn normal_rows_are_flagged_at_rate_two_pi() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 4000, 2);
    let fresh = normal_rows(&scm, 20_000, 3);
    for fit in [ReferenceFit::Empirical, ReferenceFit::Gaussian] {
        for pi in [0.125, 0.05] {
            let locator = NoiseQuantileConfig {
                pi,
                fit,
                ..NoiseQuantileConfig::default()
            }
            .fit(&scm, &normal, &[0, 1, 2, 3])
            .unwrap();
            let sets = locator.locate(&fresh).unwrap();
            for f in 0..4 {
                let rate =
                    sets.iter().filter(|s| s.contains(&f)).count() as f64 / fresh.len() as f64;
                // Binomial sd of the rate ≈ 0.003 at 2π = 0.25; the reference's own sampling
                // error (4000 rows) adds ≈ 0.007.
                assert!(
                    (rate - 2.0 * pi).abs() < 0.025,
                    "{fit:?} pi {pi} feature {f}: {rate}"
                );
            }
        }
    }
}

#[test]
fn mahalanobis_rule_on_a_correlated_two_value_block() {
    // Block 0 is 2-d with strongly correlated values (a, 0.95a + 0.31b), block 1 is 1-d.
    let mut rng = seed::rng(4);
    let make = |rng: &mut seed::RemedyRng| {
        let (a, b, c) = (gauss(rng), gauss(rng), gauss(rng));
        vec![a, 0.95 * a + 0.31 * b, c]
    };
    let normal: Vec<Vec<f64>> = (0..4000).map(|_| make(&mut rng)).collect();
    let reference = NoiseReference::fit(&normal, &[2, 1]).unwrap();
    assert_eq!(reference.blocks(), &[0, 1]);
    // (1, −1): each value alone is within the central 75% (Φ(1) = 0.84 < 0.875), but the pair
    // breaks the correlation: D² ≈ 40, far beyond the normal rows' distances.
    // (1, 0.95): along the correlation, D² ≈ 1, unremarkable.
    let t = reference
        .tail_probabilities_batch(&[vec![1.0, -1.0, 0.0], vec![1.0, 0.95, 0.0]])
        .unwrap();
    assert!(t[0][0] < 0.001, "{t:?}");
    assert!(t[1][0] > 0.4, "{t:?}");
    let flagged = reference
        .flagged(&[vec![1.0, -1.0, 0.0], vec![1.0, 0.95, 0.0]], 0.125)
        .unwrap();
    assert_eq!(flagged, vec![vec![0], vec![]]);
    // A per-dimension rule would pass (1, −1): its marginal tail 2·(1 − Φ(1)) ≈ 0.32 > 0.25.
    let marginal = NoiseReference::fit(
        &normal.iter().map(|u| vec![u[0], u[1]]).collect::<Vec<_>>(),
        &[1, 1],
    )
    .unwrap();
    let tm = marginal.tail_probabilities(&[1.0, -1.0]).unwrap();
    assert!(tm.iter().all(|t| *t > 0.25), "{tm:?}");
    // Fresh normal rows are flagged at rate ≈ 2π = 0.25 by the 2-d rule.
    let fresh: Vec<Vec<f64>> = (0..20_000).map(|_| make(&mut rng)).collect();
    let sets = reference.flagged(&fresh, 0.125).unwrap();
    let rate = sets.iter().filter(|s| s.contains(&0)).count() as f64 / fresh.len() as f64;
    assert!((rate - 0.25).abs() < 0.025, "{rate}");
}

#[test]
fn singular_multi_value_blocks_work_through_the_ridge() {
    let model = DuplicatedNoise(LinearScm::chain());
    let normal = normal_rows(&model.0, 2000, 5);
    let locator = NoiseQuantileConfig::default()
        .fit(&model, &normal, &[0, 1, 2, 3])
        .unwrap();
    let rows = vec![vec![0.0, 10.0, 10.0, 10.0], vec![10.0, 10.0, 10.0, 20.0]];
    assert_eq!(locator.locate(&rows).unwrap(), vec![vec![1], vec![0, 3]]);
}

#[test]
fn quantile_locator_rejects_bad_input() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 100, 6);
    let cfg = NoiseQuantileConfig::default();
    let e = cfg.fit(&scm, &normal, &[0, 4]).unwrap_err().to_string();
    assert!(
        e.contains("candidate feature index 4 is out of range"),
        "{e}"
    );
    let e = cfg.fit(&scm, &normal, &[]).unwrap_err().to_string();
    assert!(e.contains("no candidate"), "{e}");
    let e = cfg.fit(&scm, &[], &[0]).unwrap_err().to_string();
    assert!(e.contains("no normal rows"), "{e}");
    let mut bad = normal.clone();
    bad[7][2] = f64::NAN;
    let e = cfg.fit(&scm, &bad, &[0]).unwrap_err().to_string();
    assert!(e.contains("normal row 7, feature 'X2'"), "{e}");
    let e = NoiseQuantileConfig { pi: 0.5, ..cfg }
        .fit(&scm, &normal, &[0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("pi"), "{e}");
    let locator = cfg.fit(&scm, &normal, &[0, 1]).unwrap();
    let e = locator.locate(&[vec![0.0; 3]]).unwrap_err().to_string();
    assert!(
        e.contains("row 0 has 3 values but the model has 4 nodes"),
        "{e}"
    );
    let e = locator
        .scores(&[vec![0.0, f64::NAN, 0.0, 0.0]])
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 0, feature 'X1'"), "{e}");
}

/// `g(x) = Σ x_i²`.
fn sum_of_squares(rows: &[Vec<f64>]) -> Result<Vec<f64>> {
    Ok(rows.iter().map(|r| r.iter().map(|v| v * v).sum()).collect())
}

#[test]
fn shapley_contributions_sum_to_the_it_score() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 1000, 7);
    let g = sum_of_squares;
    let cfg = ShapleyConfig {
        samples: Some(500),
        ..ShapleyConfig::default()
    };
    // Candidates {1, 3}: players X1, X3 and "others" (X0, X2).
    let locator = cfg.fit(&scm, &g, &normal, &[1, 3]).unwrap();
    let rows = vec![vec![0.0, 3.0, 3.0, 3.0], vec![1.0, 1.0, 1.0, 5.0]];
    let mut rng = seed::rng(8);
    for a in locator.attribute(&rows, &mut rng).unwrap() {
        assert_eq!(a.players, 3);
        let total: f64 = a.contributions.iter().sum::<f64>() + a.others;
        assert!((total - a.it_score).abs() < 1e-9, "{a:?}");
        // Both rows are rare under the normal model (g ≈ 27 against a mean of 10).
        assert!(a.it_score > 1.0, "{a:?}");
    }
}

#[test]
fn shapley_dummy_and_symmetry() {
    // Dummy: g looks at X0 only; on the chain X0 depends on U0 alone, so the candidates X1..X3
    // cannot change g and get exactly 0 (common random numbers make it exact); "others" (U0)
    // carries the whole IT score.
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 500, 9);
    let g =
        |rows: &[Vec<f64>]| -> Result<Vec<f64>> { Ok(rows.iter().map(|r| r[0].abs()).collect()) };
    let locator = ShapleyConfig::default()
        .fit(&scm, &g, &normal, &[1, 2, 3])
        .unwrap();
    let a = locator
        .attribute_seeded(&[vec![2.5, 0.0, 1.0, -4.0]])
        .unwrap();
    assert!(a[0].contributions.iter().all(|c| c.abs() < 1e-12), "{a:?}");
    assert!(
        (a[0].others - a[0].it_score).abs() < 1e-12 && a[0].it_score > 1.0,
        "{a:?}"
    );
    assert!(locator.locate(&[vec![2.5, 0.0, 1.0, -4.0]]).unwrap()[0].is_empty());

    // Symmetry: two independent nodes, g symmetric in them, a normal pool closed under swapping
    // the two values, every pool row used once, and a row with equal noise: φ_0 = φ_1 exactly.
    let two = LinearScm::independent(2);
    let mut rng = seed::rng(10);
    let mut pool = Vec::new();
    for _ in 0..300 {
        let (a, b) = (gauss(&mut rng), gauss(&mut rng));
        pool.push(vec![a, b]);
        pool.push(vec![b, a]);
    }
    let g2 = |rows: &[Vec<f64>]| -> Result<Vec<f64>> {
        Ok(rows.iter().map(|r| r[0].abs() + r[1].abs()).collect())
    };
    let locator = ShapleyConfig {
        samples: None,
        ..ShapleyConfig::default()
    }
    .fit(&two, &g2, &pool, &[0, 1])
    .unwrap();
    let a = locator.attribute_seeded(&[vec![2.0, 2.0]]).unwrap();
    assert_eq!(
        a[0].players, 2,
        "every node is a candidate: no 'others' player"
    );
    assert!(
        (a[0].contributions[0] - a[0].contributions[1]).abs() < 1e-12,
        "{a:?}"
    );
    assert!(a[0].contributions[0] > 0.0);
}

#[test]
fn shapley_gives_the_shifted_node_the_largest_contribution() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 2000, 11);
    // Row with noise (0, 6, 0, 0): X1 shifted, X2 and X3 follow.
    let row = vec![vec![0.0, 6.0, 6.0, 6.0]];
    // g = |x1 − x0| = |u1| on this model ("|u_1| style"), and g = Σ x² (all features abnormal).
    let g_u1 = |rows: &[Vec<f64>]| -> Result<Vec<f64>> {
        Ok(rows.iter().map(|r| (r[1] - r[0]).abs()).collect())
    };
    let g_sq = sum_of_squares;
    let scorers: [&remedy_rootcause::AnomalyScoreFn; 2] = [&g_u1, &g_sq];
    for g in scorers {
        let locator = ShapleyConfig {
            samples: Some(1000),
            ..ShapleyConfig::default()
        }
        .fit(&scm, g, &normal, &[0, 1, 2, 3])
        .unwrap();
        let a = &locator.attribute_seeded(&row).unwrap()[0];
        let best = (0..4)
            .max_by(|&i, &j| a.contributions[i].total_cmp(&a.contributions[j]))
            .unwrap();
        assert_eq!(best, 1, "{a:?}");
        assert_eq!(
            locator.select(std::slice::from_ref(a)),
            vec![vec![1]],
            "{a:?}"
        );
    }
}

#[test]
fn shapley_same_seed_same_output() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 800, 12);
    let g = sum_of_squares;
    let rows = vec![vec![0.5, 2.0, 2.5, 2.0], vec![-1.0, 0.0, 1.5, 1.0]];
    let cfg = ShapleyConfig {
        samples: Some(300),
        seed: 5,
        ..ShapleyConfig::default()
    };
    let a = cfg
        .fit(&scm, &g, &normal, &[0, 1, 2])
        .unwrap()
        .scores(&rows)
        .unwrap();
    let b = cfg
        .fit(&scm, &g, &normal, &[0, 1, 2])
        .unwrap()
        .scores(&rows)
        .unwrap();
    assert_eq!(a, b);
    let c = ShapleyConfig { seed: 6, ..cfg }
        .fit(&scm, &g, &normal, &[0, 1, 2])
        .unwrap()
        .scores(&rows)
        .unwrap();
    assert_ne!(a, c);
    // An explicit generator gives the same as the config seed's stream.
    let locator = cfg.fit(&scm, &g, &normal, &[0, 1, 2]).unwrap();
    let mut r1 = seed::rng(99);
    let mut r2 = seed::rng(99);
    assert_eq!(
        locator.attribute(&rows, &mut r1).unwrap(),
        locator.attribute(&rows, &mut r2).unwrap()
    );
}

#[test]
fn shapley_rejects_bad_input() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 50, 13);
    let g = sum_of_squares;
    let cfg = ShapleyConfig::default();
    let e = cfg.fit(&scm, &g, &normal, &[9]).unwrap_err().to_string();
    assert!(e.contains("out of range"), "{e}");
    let e = cfg.fit(&scm, &g, &[], &[0]).unwrap_err().to_string();
    assert!(e.contains("no normal rows"), "{e}");
    let e = ShapleyConfig {
        samples: Some(0),
        ..cfg
    }
    .fit(&scm, &g, &normal, &[0])
    .unwrap_err()
    .to_string();
    assert!(e.contains("samples"), "{e}");
    let e = ShapleyConfig {
        rule: ShapleySetRule::FractionOfTotal { fraction: -1.0 },
        ..cfg
    }
    .fit(&scm, &g, &normal, &[0])
    .unwrap_err()
    .to_string();
    assert!(e.contains("fraction"), "{e}");
    let short = |rows: &[Vec<f64>]| -> Result<Vec<f64>> { Ok(vec![0.0; rows.len() - 1]) };
    let locator = cfg.fit(&scm, &short, &normal, &[0]).unwrap();
    let e = locator.scores(&[vec![0.0; 4]]).unwrap_err().to_string();
    assert!(e.contains("returned"), "{e}");
    let locator = cfg.fit(&scm, &g, &normal, &[0]).unwrap();
    let e = locator.locate(&[vec![0.0; 5]]).unwrap_err().to_string();
    assert!(e.contains("row 0 has 5 values"), "{e}");
}

/// The chain's abduction made leaky, as a learned encoder can be: node i's "noise" keeps half
/// of its parent, `u_i + x_{i−1}/2`; node 1's block is 2-valued, `(u_1 + x_0/2, u_1 − x_0/2)`,
/// so the Mahalanobis path is exercised too.
struct Leaky(LinearScm);

impl CausalModel for Leaky {
    fn node_names(&self) -> &[String] {
        self.0.node_names()
    }

    fn noise_dims(&self) -> Vec<usize> {
        vec![1, 2, 1, 1]
    }

    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>> {
        let u = self.0.abduct(x)?;
        let leak = |i: usize| u[i] + if i > 0 { 0.5 * x[i - 1] } else { 0.0 };
        Ok(vec![leak(0), leak(1), u[1] - 0.5 * x[0], leak(2), leak(3)])
    }

    fn predict(&self, u: &[f64]) -> Result<Vec<f64>> {
        self.0.predict(&[u[0], u[1], u[3], u[4]])
    }

    fn counterfactual_from_noise(&self, u: &[f64], iv: &Intervention) -> Result<Vec<f64>> {
        self.0
            .counterfactual_from_noise(&[u[0], u[1], u[3], u[4]], iv)
    }
}

fn chain_schema() -> remedy_core::Schema {
    remedy_core::Schema::new(
        (0..4)
            .map(|i| remedy_core::schema::Feature {
                name: format!("X{i}"),
                kind: remedy_core::schema::FeatureType::Continuous,
                actionable: true,
                cost: 1.0,
                lower: None,
                upper: None,
            })
            .collect(),
    )
    .unwrap()
}

/// A parent far out drags a leaky abduction's child noise with it: the marginal rule then flags
/// the child, the parent-conditional rule (normal rows with similar parents drift alike) does
/// not, and it still flags the child's own shift. With exact noise both rules agree.
#[test]
fn conditional_rule_discounts_what_the_parents_explain() {
    let scm = LinearScm::chain();
    let normal = normal_rows(&scm, 4000, 3);
    let parents: Vec<Vec<usize>> = vec![vec![], vec![0], vec![1], vec![2]];
    let schema = chain_schema();
    let leaky = Leaky(LinearScm::chain());
    let all = [0, 1, 2, 3];
    let cfg = NoiseQuantileConfig::default();
    // Row a: X0's noise is 2 (its own root cause), every other noise 0. Row b: X2's noise is 3.
    // (A parent far beyond the normal rows would leave its nearest neighbours on one side of
    // it, and the leak would show again: the rule helps within the normal range.)
    let a = scm.predict(&[2.0, 0.0, 0.0, 0.0]).unwrap();
    let b = scm.predict(&[0.0, 0.0, 3.0, 0.0]).unwrap();
    let rows = vec![a, b];
    let marginal = cfg
        .fit(&leaky, &normal, &all)
        .unwrap()
        .locate(&rows)
        .unwrap();
    assert!(
        marginal[0].contains(&1),
        "the leak flags X1 marginally: {marginal:?}"
    );
    let conditional = cfg
        .fit_conditional(&leaky, &schema, &parents, &normal, &all, 200)
        .unwrap();
    let found = conditional.locate(&rows).unwrap();
    assert_eq!(found, vec![vec![0], vec![2]]);
    // Scores: the flagged candidate outscores the others in each row; X0 has no parents and
    // keeps the marginal reference of all 4000 rows, so its score is the marginal rule's.
    let s = conditional.scores(&rows).unwrap();
    let m = cfg
        .fit(&leaky, &normal, &all)
        .unwrap()
        .scores(&rows)
        .unwrap();
    assert_eq!(s[0][0], m[0][0]);
    assert!(s[0][0] > s[0][1] && s[0][0] > s[0][2], "{s:?}");
    assert!(s[1][2] > s[1][1] && s[1][2] > s[1][3], "{s:?}");
    // On the exact noise both rules name the same root causes.
    let exact = cfg
        .fit_conditional(&scm, &schema, &parents, &normal, &all, 200)
        .unwrap()
        .locate(&rows)
        .unwrap();
    assert_eq!(
        exact,
        cfg.fit(&scm, &normal, &all).unwrap().locate(&rows).unwrap()
    );
    assert_eq!(exact, vec![vec![0], vec![2]]);
    // Bad input is named.
    let e = cfg
        .fit_conditional(&scm, &schema, &parents[..3], &normal, &all, 200)
        .unwrap_err()
        .to_string();
    assert!(e.contains("parent lists"), "{e}");
    let e = cfg
        .fit_conditional(&scm, &schema, &parents, &normal, &all, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("neighbours"), "{e}");
    let cyclic: Vec<Vec<usize>> = vec![vec![0], vec![0], vec![1], vec![2]];
    let e = cfg
        .fit_conditional(&scm, &schema, &cyclic, &normal, &all, 200)
        .unwrap_err()
        .to_string();
    assert!(e.contains("feature 0 lists parent 0"), "{e}");
}
