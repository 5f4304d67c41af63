//! `remedy fit`: train a detector, a causal model and the root-cause reference on the user's
//! normal data and graph, and write them to a model directory.

use std::time::Instant;

use remedy_app::model::check_output_dir;
use remedy_app::{CausalKind, DetectorKind, FitConfig, Missing, RecourseKind};
use remedy_core::dot::read_graph;
use remedy_core::io::read_table;
use remedy_core::{Result, Schema};

use crate::args::{CausalArg, FitArgs, MissingArg, RecourseArg, TabularDetectorArg};
use crate::progress::Bar;

/// Where `fit`'s graph comes from.
enum GraphSource {
    /// `--graph`.
    File(remedy_core::Dag),
    /// Learnt from the training rows with these settings.
    Learn(remedy_app::discover::DiscoverOptions),
}

pub fn run(a: &FitArgs) -> Result<()> {
    // Refuse bad flags and an occupied --out before spending minutes on training.
    let target = super::recommend::target_of(&a.target, None)?;
    check_output_dir(&a.out, a.force)?;
    let schema = a.schema.as_deref().map(Schema::read).transpose()?;
    // The graph file is read, or discovery's settings checked, before the training rows.
    let source = match &a.graph {
        Some(path) => GraphSource::File(read_graph(path)?),
        None => GraphSource::Learn(super::graph::options(
            a.graph_alpha,
            None,
            &a.knowledge,
            None,
            schema.clone(),
        )?),
    };
    let train = read_table(&a.train)?;
    let (dag, learnt) = match source {
        GraphSource::File(dag) => (dag, None),
        GraphSource::Learn(options) => {
            let found = remedy_app::discover::discover(&train, &options).map_err(|e| {
                remedy_core::Error::invalid(format!(
                    "no --graph, so one is learnt from {}: {e} (for fit, --schema names the \
                     features to learn it over)",
                    a.train.display()
                ))
            })?;
            eprintln!(
                "no --graph: learnt one from the training rows (graph discover's PC; pass \
                 --graph to use your own)"
            );
            for line in found.summary() {
                eprintln!("  {line}");
            }
            (found.dag()?, Some(found))
        }
    };
    let config = FitConfig {
        detector: match a.detector {
            TabularDetectorArg::Ae => DetectorKind::Ae,
            TabularDetectorArg::Deepsvdd => DetectorKind::Deepsvdd,
        },
        causal: match a.causal {
            CausalArg::Anm => CausalKind::Anm,
            CausalArg::Vaca => CausalKind::Vaca,
        },
        recourse: recourse_of(a.recourse),
        seed: a.seed,
        epochs: a.epochs,
        pi: a.pi,
        missing: match a.missing {
            MissingArg::Impute => Missing::Impute,
            MissingArg::Error => Missing::Error,
        },
        target,
        threads: usize::from(a.threads),
        ..FitConfig::default()
    };
    let start = Instant::now();
    let fitted = remedy_app::fit(&train, &dag, schema.as_ref(), &config, &mut Bar::default())?;
    let ignored = &fitted.manifest.ignored_columns;
    if !ignored.is_empty() {
        eprintln!(
            "warning: {} column{} of {} not in the graph, ignored: {}",
            ignored.len(),
            if ignored.len() == 1 { "" } else { "s" },
            a.train.display(),
            ignored.join(", ")
        );
    }
    let filled = fitted.manifest.filled_cells;
    if filled > 0 {
        eprintln!(
            "warning: {filled} empty cell{} of {} filled by drawing from each column's observed \
             values (--missing error refuses them)",
            if filled == 1 { "" } else { "s" },
            a.train.display()
        );
    }
    fitted.save(&a.out, a.force)?;
    if let Some(found) = &learnt {
        let path = a.out.join("graph.dot");
        remedy_core::io::write_atomic(&path, found.to_dot().as_bytes())?;
        eprintln!(
            "the learnt graph is in {} (edit it and refit with --graph to change it)",
            path.display()
        );
    }
    let recourse = match (a.recourse, fitted.network_anomalies()) {
        (RecourseArg::Search, _) => "recommendations search per row".to_string(),
        (RecourseArg::Network, Some(n)) => {
            format!("recourse network trained on {n} synthetic anomalies")
        }
        (RecourseArg::Network, None) => "too few synthetic anomalies with an actionable root \
             cause to train a recourse network: recommendations search per row"
            .to_string(),
    };
    eprintln!(
        "fitted {} features on {} rows ({} for validation) in {:.1} s: threshold {:.4}, \
         root-cause candidates {}; {recourse}; model written to {}",
        fitted.features().len(),
        fitted.manifest.train_rows,
        fitted.manifest.valid_rows,
        start.elapsed().as_secs_f64(),
        fitted.threshold(),
        fitted.candidates().join(", "),
        a.out.display()
    );
    Ok(())
}

/// `--recourse` as the library's kind (`fit` and `reproduce recommend`).
pub fn recourse_of(r: RecourseArg) -> RecourseKind {
    match r {
        RecourseArg::Network => RecourseKind::Network,
        RecourseArg::Search => RecourseKind::Search,
    }
}
