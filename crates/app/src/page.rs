//! The HTML report on the user's rows (`remedy report`): the causal graph with the most frequent
//! root causes highlighted, the detection summary and score distribution, root-cause
//! frequencies, each anomalous row's evidence (calibrated p-value per feature) and the
//! recommended action for each anomalous row, in one self-contained page.

use remedy_core::{Result, Table};
use remedy_recourse::search::RecommendConfig;
use remedy_report::svg::{BarChart, DagPlot, LinePlot};
use remedy_report::{Cell, HtmlTable, Report};

use crate::{FamilyWise, Fitted, RootCauseRule};

/// Rows listed in the per-row action table (the rest are counted, not listed).
const MAX_LISTED: usize = 200;

/// The rule in words, for the page's metadata.
fn rule_text(rule: &RootCauseRule, fitted_pi: f64) -> String {
    match rule {
        RootCauseRule::FamilyWise(FamilyWise::Holm { alpha }) => format!("Holm, α = {alpha}"),
        RootCauseRule::FamilyWise(FamilyWise::Bonferroni { alpha }) => {
            format!("Bonferroni, α = {alpha}")
        }
        RootCauseRule::Quantile { pi } => format!("quantile, π = {}", pi.unwrap_or(fitted_pi)),
    }
}

/// Builds the page for `data` scored by `model`: root causes by `rule`, actions on the root
/// causes of `action_rule`. `title_note` (e.g. the data file's name and
/// the command line) goes into the page's metadata; the library never reads the clock.
pub fn report_page(
    model: &Fitted,
    data: &Table,
    meta: &[(&str, String)],
    config: &RecommendConfig,
    rule: &RootCauseRule,
    action_rule: &RootCauseRule,
    seed: Option<u64>,
) -> Result<Report> {
    let detected = model.detect(data)?;
    let explained = model.explain(data, false, rule)?;
    let recommended = model.recommend(
        data,
        config,
        // `recommend`'s default target.
        crate::Target::default(),
        crate::RecommendMethod::Auto,
        action_rule,
        seed,
    )?;
    let n = detected.len();
    let n_anomalous = detected.iter().filter(|d| d.is_anomaly).count();
    let n_flipped = recommended.iter().filter(|r| r.flips).count();

    let mut page = Report::new("Remedy report");
    page.subtitle("Why the detector fired, and what to do about it");
    for (k, v) in meta {
        page.meta(*k, v.clone());
    }
    page.meta("detector", format!("{:?}", model.manifest.detector))
        .meta("causal model", format!("{:?}", model.manifest.causal))
        .meta("root-cause rule", rule_text(rule, model.manifest.pi))
        .meta(
            "features actions may touch",
            rule_text(action_rule, model.manifest.pi),
        );
    page.section("Summary").summary([
        ("rows", n.to_string()),
        (
            "anomalous (score above the threshold)",
            format!(
                "{n_anomalous} ({:.1}%)",
                100.0 * n_anomalous as f64 / n.max(1) as f64
            ),
        ),
        ("threshold", format!("{:.4}", model.threshold())),
        (
            "made normal by the recommended action",
            format!("{n_flipped} of {}", recommended.len()),
        ),
    ]);

    // Root-cause frequencies over the anomalous rows.
    let candidates = model.candidates().to_vec();
    let counts: Vec<f64> = candidates
        .iter()
        .map(|c| {
            explained
                .iter()
                .filter(|e| e.root_causes.contains(c))
                .count() as f64
        })
        .collect();
    let share: Vec<f64> = counts
        .iter()
        .map(|c| c / explained.len().max(1) as f64)
        .collect();
    let features = model.features();
    let mut ranked: Vec<usize> = (0..candidates.len()).collect();
    ranked.sort_by(|&a, &b| counts[b].total_cmp(&counts[a]));
    let top: Vec<&str> = ranked
        .iter()
        .take(2)
        .filter(|&&i| counts[i] > 0.0)
        .map(|&i| candidates[i].as_str())
        .collect();
    page.section("Causal graph");
    page.plot(
        &DagPlot::from_dag(model.dag())
            .highlight_names(top.iter().copied())
            .highlight_label("most frequent root causes"),
        "The causal graph the model follows; actions on a feature also move its descendants.",
    );

    page.section("Detection");
    let scores: Vec<f64> = detected.iter().map(|d| d.score).collect();
    page.plot(
        &LinePlot::new("Anomaly score by row")
            .x_label("row")
            .y_label("score")
            .series(
                "score",
                scores.iter().enumerate().map(|(i, &s)| ((i + 1) as f64, s)),
            )
            .hline(model.threshold(), "threshold"),
        "Each row's score; rows above the line are anomalous.",
    );

    page.section("Root causes");
    page.plot(
        &BarChart::new("How often each feature is a root cause")
            .categories(candidates.iter().map(String::as_str))
            .series("share of anomalous rows", share.clone())
            .y_label("share"),
        "Share of anomalous rows whose located root causes include the feature.",
    );

    page.section("Evidence by row");
    let mut header = vec!["row".to_string(), "root causes".to_string()];
    header.extend(candidates.iter().map(|c| format!("p-value {c}")));
    let mut table = HtmlTable::new(header);
    for e in explained.iter().take(MAX_LISTED) {
        let mut cells = vec![
            Cell::num(e.row as f64, 0),
            Cell::text(e.root_causes.join(", ")),
        ];
        for ev in &e.evidence {
            let mark = if ev.rank == 1 { " (1st)" } else { "" };
            cells.push(Cell::text(format!("{:.1e}{mark}", ev.pvalue)));
        }
        table = table.row(cells);
    }
    page.table(table.caption(
        "Per feature, the calibrated p-value: the chance that a normal row's feature is at \
         least this unusual given its parents (smaller = stronger evidence); (1st) marks the \
         row's most unusual feature. `remedy explain` also prints the deviation in the \
         feature's units.",
    ));

    page.section("Recommended actions");
    let acts = model.action_features();
    let mut header = vec!["row".to_string(), "root causes".to_string()];
    header.extend(acts.iter().map(|a| format!("action {a}")));
    header.extend(
        [
            "score before",
            "score after",
            "flips",
            "cost",
            "plausibility",
            "found by",
        ]
        .map(String::from),
    );
    let mut table = HtmlTable::new(header);
    for r in recommended.iter().take(MAX_LISTED) {
        let mut cells = vec![
            Cell::num(r.row as f64, 0),
            Cell::text(r.root_causes.join(", ")),
        ];
        for a in &acts {
            let j = features.iter().position(|f| f == a);
            let v = j.map_or(0.0, |j| r.action.get(j).copied().unwrap_or(0.0));
            cells.push(if v == 0.0 {
                Cell::text("")
            } else {
                Cell::num(v, 3)
            });
        }
        cells.push(Cell::num(r.score_before, 4));
        cells.push(Cell::num(r.score_after, 4));
        cells.push(Cell::text(if r.flips { "yes" } else { "no" }));
        cells.push(Cell::num(r.cost, 3));
        cells.push(if r.plausibility.is_finite() {
            Cell::num(r.plausibility, 3)
        } else {
            Cell::text("")
        });
        cells.push(Cell::text(r.method.as_str()));
        table = table.row(cells);
    }
    let caption = if recommended.len() > MAX_LISTED {
        format!(
            "The first {MAX_LISTED} of {} anomalous rows; `remedy recommend` lists them all.",
            recommended.len()
        )
    } else {
        "Actions in original units; empty where the feature is not acted on. Plausibility: the \
         share of held-out normal rows at least as far from their nearest normal rows as the \
         counterfactual (by default actions aim at 0.9 or more)."
            .to_string()
    };
    page.table(table.caption(caption));
    Ok(page)
}
