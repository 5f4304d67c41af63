//! The tabular user workflow behind `remedy fit`, `detect`, `explain` and `recommend`: from a
//! table of normal rows, a causal graph and an optional schema, [`fit`] trains an anomaly
//! detector, a causal model and the root-cause reference; [`Fitted::save`]/[`Fitted::load`]
//! keep them in a model directory; [`Fitted::detect`], [`Fitted::explain`] and
//! [`Fitted::recommend`] answer, for new rows, *is it anomalous*, *why* (root-cause features)
//! and *what to do* (the cheapest action on those features that makes the row normal again,
//! propagated through the graph). Library code never prints: progress goes to the
//! [`remedy_nn::Observer`] passed in, diagnostics to `tracing`.

mod components;
pub mod data;
pub mod discover;
mod evidence;
pub mod missing;
pub mod model;
pub mod network;
pub mod ops;
pub mod options;
pub mod page;
pub mod target;
pub mod ts;
pub mod ts_cause;
pub mod ts_input;
pub mod whatif;

pub use missing::Missing;
pub use model::{CausalKind, DetectorKind, FitConfig, Fitted, Manifest, RecourseKind, fit};
pub use network::NetworkConfig;
pub use ops::{
    ActionSource, DetectRow, Evidence, ExplainRow, RecommendMethod, RecommendRow, RootCauseRule,
    detect_table, explain_long_table, explain_table, recommend_table,
};
pub use page::report_page;
pub use remedy_recourse::RecommendConfig;
pub use remedy_rootcause::FamilyWise;
pub use target::Target;
pub use whatif::CounterfactualRow;

/// Fitted models cross threads: the Python package releases the GIL while they work.
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<Fitted>();
    is::<ts::TsModel>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use remedy_core::{Column, Dag, Table, seed};
    use remedy_nn::NoObserver;

    /// Normal rows of X0 → X1 → X2 → X3, unit coefficients, N(0, 1) noise (Box–Muller).
    fn chain_table(n: usize, s: u64) -> Table {
        let mut rng = seed::rng(s);
        let mut cols: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
        for _ in 0..n {
            let mut prev = 0.0;
            for c in cols.iter_mut() {
                let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
                let e = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                prev += e;
                c.push(prev);
            }
        }
        Table::new(
            cols.into_iter()
                .enumerate()
                .map(|(i, c)| (format!("X{i}"), Column::Num(c)))
                .collect(),
        )
        .unwrap()
    }

    fn chain_dag() -> Dag {
        Dag::from_edges(&[("X2", "X3"), ("X0", "X1"), ("X1", "X2")]).unwrap()
    }

    #[test]
    fn fit_save_load_explain_on_the_chain() {
        let config = FitConfig {
            epochs: Some(30),
            seed: 3,
            ..FitConfig::default()
        };
        let fitted = fit(
            &chain_table(1500, 1),
            &chain_dag(),
            None,
            &config,
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(fitted.features(), vec!["X0", "X1", "X2", "X3"]);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("model");
        fitted.save(&out, false).unwrap();
        let e = fitted.save(&out, false).unwrap_err().to_string();
        assert!(e.contains("--force"), "{e}");
        fitted.save(&out, true).unwrap();
        let loaded = Fitted::load(&out).unwrap();
        let rows = Table::from_rows(
            &["X0", "X1", "X2", "X3"].map(String::from),
            &[
                vec![0.0, 10.0, 10.0, 10.0],
                vec![10.0, 10.0, 10.0, 20.0],
                vec![0.0; 4],
            ],
        )
        .unwrap();
        let d = loaded.detect(&rows).unwrap();
        assert_eq!(
            d.iter().map(|r| r.is_anomaly).collect::<Vec<_>>(),
            [true, true, false]
        );
        let a = fitted.detect(&rows).unwrap();
        assert_eq!(a, d, "loading gives the same scores");
        let recommend = |m: &Fitted, method| {
            m.recommend(
                &rows,
                &RecommendConfig::default(),
                Target::default(),
                method,
                &RootCauseRule::default(),
                None,
            )
            .unwrap()
        };
        let ex = loaded
            .explain(&rows, false, &RootCauseRule::default())
            .unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].root_causes, ["X1"]);
        assert_eq!(ex[1].root_causes, ["X0", "X3"]);
        // Row 1: X1's noise is 10 sd off, the others' 0: X1 ranks first with a p-value far
        // below Holm's α/4, its deviation ≈ 10 in X1's units; X0 is unremarkable.
        let x1 = ex[0].evidence[1];
        assert_eq!(x1.rank, 1);
        assert!(x1.pvalue < 1e-4, "{x1:?}");
        assert!((x1.deviation - 10.0).abs() < 1.0, "{x1:?}");
        assert!(ex[0].evidence[0].pvalue > 0.01, "{:?}", ex[0].evidence);
        // The paper's rule on the same rows, and --all on a normal row: no root cause.
        let q = loaded
            .explain(&rows, true, &RootCauseRule::Quantile { pi: None })
            .unwrap();
        assert!(q[0].root_causes.contains(&"X1".to_string()));
        let all = loaded
            .explain(&rows, true, &RootCauseRule::default())
            .unwrap();
        assert!(
            !all[2].is_anomaly && all[2].root_causes.is_empty(),
            "{all:?}"
        );
        let bad = loaded.explain(
            &rows,
            false,
            &RootCauseRule::FamilyWise(FamilyWise::Holm { alpha: 1.5 }),
        );
        assert!(bad.unwrap_err().to_string().contains("--alpha"));
        let long = explain_long_table(&loaded, &ex).unwrap();
        assert_eq!(long.n_rows(), 2 * 4);
        let t = explain_table(&loaded, &ex).unwrap();
        assert!(t.has("pvalue_X1") && t.has("rank_X3") && t.has("deviation_X0"));
        let rec = recommend(&loaded, RecommendMethod::Auto);
        assert!(rec.iter().all(|r| r.flips), "{rec:?}");
        assert_eq!(rec[0].action[0], 0.0);
        assert!(rec[0].action[1] < -5.0, "{rec:?}");
        let net = recommend(&loaded, RecommendMethod::Network);
        // The network alone flips both rows, acting only on their root causes, and the
        // loaded network answers exactly as the fitted one.
        assert!(
            net.iter()
                .all(|r| r.flips && r.method == ActionSource::Network),
            "{net:?}"
        );
        assert_eq!(net[0].acted_on, ["X1"]);
        assert!(net[0].action[1] < 0.0, "{net:?}");
        assert_eq!(net[1].acted_on, ["X0", "X3"]);
        let fresh = recommend(&fitted, RecommendMethod::Network);
        assert_eq!(fresh, net);
        let searched = recommend(&loaded, RecommendMethod::Search);
        assert!(searched.iter().all(|r| r.method == ActionSource::Search));
        let t = recommend_table(&loaded, &rec).unwrap();
        assert!(t.has("action_X1") && t.has("cf_X3") && t.has("flips"));
        // The typical target aims at the median normal score, well inside the normal region:
        // each counterfactual lands at a lower score than the threshold target's (just under
        // τ), for a larger action.
        let grid = loaded
            .manifest
            .normal_scores
            .clone()
            .expect("fit keeps them");
        assert_eq!(Some(&grid), fitted.manifest.normal_scores.as_ref());
        let median = target::at(&grid, 0.5);
        assert!(median < 0.9 * loaded.threshold(), "{median}");
        let aim = |t| {
            loaded
                .recommend(
                    &rows,
                    &RecommendConfig::default(),
                    t,
                    RecommendMethod::Search,
                    &RootCauseRule::default(),
                    None,
                )
                .unwrap()
        };
        let typical = aim(Target::Typical {
            quantile: 0.5,
            min_plausibility: 0.01,
        });
        let edge = aim(Target::Threshold { alpha: 0.9 });
        for (t, e) in typical.iter().zip(&edge) {
            assert!(
                t.score_after < e.score_after && t.cost > e.cost,
                "{t:?} {e:?}"
            );
        }
        // By default the whole counterfactual must also lie among the normal rows: acting on
        // the root causes alone brings both rows back there (X1 −10 gives the typical row 0;
        // X0 and X3 −10 the same), so both meet the requirement, and the model answers as
        // saved.
        let plausible = aim(Target::default());
        for r in &plausible {
            assert!(
                r.plausibility >= target::DEFAULT_MIN_PLAUSIBILITY && r.plausibility <= 1.0,
                "{r:?}"
            );
        }
        assert_eq!(loaded.manifest.support, fitted.manifest.support);
        // The population `intervene` draws from: every training row (1,500 < 10,000), back
        // bit for bit; an edited file is refused by name.
        assert_eq!(fitted.population.as_ref().map(Vec::len), Some(1500));
        assert_eq!(loaded.population, fitted.population);
        let file = out.join(whatif::POPULATION_FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last / 2] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        let e = Fitted::load(&out).unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().contains("population.parquet"),
            "{e}"
        );
        assert!(
            recommend_table(&loaded, &plausible)
                .unwrap()
                .has("plausibility")
        );
    }

    #[test]
    fn corrupt_or_foreign_model_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = Fitted::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("remedy.json") && e.contains("remedy fit"), "{e}");
        std::fs::write(
            dir.path().join("remedy.json"),
            r#"{"format":"remedy-model","format_version":99}"#,
        )
        .unwrap();
        let e = Fitted::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("version 99"), "{e}");
        std::fs::write(dir.path().join("remedy.json"), "{\"format\":\"remedy-mo").unwrap();
        let e = Fitted::load(dir.path()).unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().contains("remedy.json"),
            "{e}"
        );
    }
}
