//! End-to-end checks of the HTML report and the SVG plots: escaping, determinism, total
//! rendering on bad numbers, DAG layering and self-containment.

use remedy_report::svg::{log_ticks, nice_ticks};
use remedy_report::{
    BarChart, Cell, DagPlot, HtmlTable, LinePlot, Panel, Report, ScatterPlot, Series,
    TimeSeriesPanel, standalone,
};

/// Checks that the markup nests properly: every `<tag>` closed in order, no stray `<` in text.
fn assert_balanced(markup: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = markup;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_default();
            assert_eq!(open, name.trim(), "mismatched close in {markup}");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            if !["meta", "br", "hr", "img", "link", "input"].contains(&name.as_str()) {
                stack.push(name);
            }
        }
        assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

fn assert_svg_ok(svg: &str) {
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
    let lower = svg.to_ascii_lowercase();
    assert!(!lower.contains("nan"), "NaN in {svg}");
    assert!(!lower.contains("inf"), "inf in {svg}");
    assert_balanced(svg);
}

const EVIL: &str = "<script>alert('x')</script>&\"";

fn all_plots() -> Vec<String> {
    vec![
        LinePlot::new("Loss")
            .x_label("epoch")
            .y_label("loss")
            .markers(true)
            .series("train", [(0.0, 1.0), (1.0, 0.5), (2.0, 0.3)])
            .with_series(Series::new("valid", [(0.0, 1.1), (1.0, 0.7), (2.0, 0.6)]).dashed())
            .shade_x(0.5, 1.5)
            .shade_label("anomalous")
            .hline(0.4, "τ")
            .vline(1.0, "action")
            .render(),
        LinePlot::new("λ sweep")
            .log_x(true)
            .series("flip", [(1e-5, 0.2), (1e-4, 0.4), (1e-2, 0.8), (1.0, 0.95)])
            .y_range(0.0, 1.0)
            .render(),
        ScatterPlot::new("Fig. 3")
            .x_label("action norm")
            .y_label("flip ratio")
            .labelled_series("RootCLAM", [(0.8, 0.97, "λ=0.01"), (1.0, 0.99, "λ=0.1")])
            .series("NaiveAM", [(1.4, 0.91)])
            .render(),
        BarChart::new("Root causes")
            .categories([
                "income",
                "savings",
                "a rather long feature name that rotates",
            ])
            .series("truth", [0.4, 0.1, 0.5])
            .series("found", [0.35, f64::NAN, -0.2])
            .value_labels(true)
            .render(),
        DagPlot::new(
            ["G", "L", "D", "I", "S"],
            [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (0, 4)],
        )
        .title("Loan")
        .highlight([2])
        .highlight_label("root cause")
        .render(),
        TimeSeriesPanel::new("Case")
            .x_label("t")
            .shade_x(3.0, 4.0)
            .vline(3.0, "action")
            .panel(
                Panel::new("x1")
                    .with_series(Series::from_values("observed", &[0.0, 0.1, 0.2, 2.0, 2.1]))
                    .with_series(
                        Series::from_values_at("counterfactual", 3.0, &[0.3, 0.2]).dashed(),
                    )
                    .hline(1.5, "τ"),
            )
            .panel(
                Panel::new("x2")
                    .with_series(Series::from_values("observed", &[1.0, 1.0, 0.9, 1.2, 1.1])),
            )
            .render(),
    ]
}

fn full_report() -> Report {
    let mut r = Report::new("RootCLAM reproduction");
    r.subtitle("Loan benchmark")
        .meta(
            "command",
            "remedy reproduce rootclam --report out.html --seed 7",
        )
        .meta("seed", "7")
        .meta("date", "2025-01-01");
    r.section("Summary")
        .summary([("anomalies", "120"), ("flip ratio", "0.97")])
        .note("Reduced run.");
    r.section("Tables").table(
        HtmlTable::new(["method", "flip ratio", "cost"])
            .row(["RootCLAM", "0.97", "1.20"])
            .row(["NaiveAM", "0.91", "1.35"])
            .highlight_max(1)
            .highlight_min(2)
            .caption("Table 4."),
    );
    r.section("Figures");
    for (i, svg) in all_plots().into_iter().enumerate() {
        r.figure(svg, format!("Figure number {i}."));
    }
    r.pre("seed = 7\nlambda = 0.01");
    r
}

#[test]
fn user_text_is_escaped_everywhere() {
    let mut r = Report::new(EVIL);
    r.subtitle(EVIL)
        .meta(EVIL, EVIL)
        .section(EVIL)
        .subsection(EVIL)
        .paragraph(EVIL);
    r.table(
        HtmlTable::new([EVIL, "b"])
            .row([Cell::text(EVIL), Cell::from(1.0)])
            .caption(EVIL),
    );
    r.pre(EVIL).note(EVIL).summary([(EVIL, EVIL)]);
    r.plot(
        &LinePlot::new(EVIL)
            .x_label(EVIL)
            .y_label(EVIL)
            .series(EVIL, [(0.0, 1.0), (1.0, 2.0)])
            .hline(1.5, EVIL),
        EVIL,
    );
    r.plot(
        &ScatterPlot::new(EVIL).labelled_series(EVIL, [(0.0, 1.0, EVIL)]),
        EVIL,
    );
    r.plot(
        &BarChart::new(EVIL).categories([EVIL]).series(EVIL, [1.0]),
        EVIL,
    );
    r.plot(
        &DagPlot::new([EVIL, "b"], [(0, 1)])
            .title(EVIL)
            .highlight([0])
            .highlight_label(EVIL),
        EVIL,
    );
    r.plot(
        &TimeSeriesPanel::new(EVIL).panel(Panel::new(EVIL).series(EVIL, [(0.0, 1.0), (1.0, 0.0)])),
        EVIL,
    );
    let html = r.render();
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
    let body = &html[html.find("<body>").unwrap()..html.find("</html>").unwrap()];
    assert_balanced(body);
}

#[test]
fn output_is_deterministic() {
    assert_eq!(full_report().render(), full_report().render());
    assert_eq!(all_plots(), all_plots());
}

#[test]
fn ticks_on_hand_worked_examples() {
    assert_eq!(nice_ticks(0.0, 0.93, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8]);
    assert_eq!(
        log_ticks(1e-5, 1.0),
        vec![1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    );
    // The λ sweep axis shows decade labels.
    let svg = LinePlot::new("")
        .log_x(true)
        .series("s", [(1e-5, 0.1), (1.0, 0.9)])
        .render();
    for label in ["10⁻⁵", "10⁻⁴", "10⁻²", "10⁻¹", "10⁰"] {
        assert!(svg.contains(label), "{label} missing");
    }
}

#[test]
fn non_finite_points_are_skipped() {
    let svg = LinePlot::new("")
        .markers(true)
        .series(
            "",
            [
                (0.0, 1.0),
                (1.0, f64::NAN),
                (2.0, 2.0),
                (f64::INFINITY, 1.0),
                (3.0, f64::NEG_INFINITY),
                (4.0, 3.0),
            ],
        )
        .render();
    assert_svg_ok(&svg);
    // Three usable points, three markers; the line is broken at each bad point.
    assert_eq!(svg.matches("<circle").count(), 3);
    let path = svg.split("class=\"series\" d=\"").nth(1).unwrap();
    let d = &path[..path.find('"').unwrap()];
    assert_eq!(d.matches('M').count(), 3, "{d}");
    assert_eq!(d.matches('L').count(), 0, "{d}");

    // Log axis: values <= 0 cannot be placed and are skipped too.
    let svg = ScatterPlot::new("")
        .log_x(true)
        .series("", [(0.0, 1.0), (-1.0, 2.0), (0.1, 3.0), (10.0, 4.0)])
        .render();
    assert_svg_ok(&svg);
    assert_eq!(svg.matches("<circle").count(), 2);

    let svg = BarChart::new("")
        .categories(["a", "b"])
        .series("s", [f64::NAN, f64::INFINITY])
        .render();
    assert_svg_ok(&svg);
    assert!(svg.contains("no data"));
}

#[test]
fn empty_input_gives_a_no_data_note() {
    let empty: [(f64, f64); 0] = [];
    let svgs = [
        LinePlot::new("t").series("a", empty).render(),
        LinePlot::new("t").render(),
        LinePlot::new("t")
            .series("a", [(f64::NAN, 1.0)])
            .log_x(true)
            .render(),
        ScatterPlot::new("t").series("a", empty).render(),
        BarChart::new("t").render(),
        BarChart::new("t").categories(["a"]).render(),
        DagPlot::new(Vec::<String>::new(), []).render(),
        TimeSeriesPanel::new("t").render(),
        TimeSeriesPanel::new("t")
            .panel(Panel::new("x").series("a", empty))
            .render(),
    ];
    for svg in &svgs {
        assert_svg_ok(svg);
        assert!(svg.contains("no data"), "{svg}");
    }
    // One empty panel among full ones: only that panel says so.
    let svg = TimeSeriesPanel::new("")
        .panel(Panel::new("x").series("a", [(0.0, 1.0), (1.0, 2.0)]))
        .panel(Panel::new("y").series("a", empty))
        .render();
    assert_svg_ok(&svg);
    assert_eq!(svg.matches("no data").count(), 1);
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let svgs = [
        LinePlot::new("").series("a", [(1.0, 1.0)]).render(),
        LinePlot::new("")
            .series("a", [(0.0, 5.0), (1.0, 5.0)])
            .render(),
        LinePlot::new("")
            .series("a", [(0.0, 1e308), (1.0, -1e308)])
            .render(),
        LinePlot::new("")
            .series("a", [(0.0, 1.0)])
            .x_range(f64::NAN, 1.0)
            .y_range(2.0, 2.0)
            .size(f64::NAN, -5.0)
            .render(),
        ScatterPlot::new("")
            .series("a", [(0.0, 0.0)])
            .log_y(true)
            .render(),
        BarChart::new("")
            .categories(["a", "b"])
            .series("s", [0.0, 0.0])
            .render(),
        BarChart::new("")
            .categories(["a"])
            .series("s", [1.0, 2.0, 3.0])
            .series("t", [])
            .render(),
        DagPlot::new(["a", "b"], [(0, 1), (1, 0), (0, 9), (1, 1)]).render(),
    ];
    for svg in &svgs {
        assert_svg_ok(svg);
    }
}

/// A deterministic pseudo-random DAG: edges only from lower to higher index.
fn random_dag(nodes: usize, p_percent: u64, seed: u64) -> Vec<(usize, usize)> {
    let mut s = seed;
    let mut edges = Vec::new();
    for u in 0..nodes {
        for v in u + 1..nodes {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if (s >> 33) % 100 < p_percent {
                // Scramble the direction in index space so that layers are not just indices.
                edges.push(if (s >> 20).is_multiple_of(2) {
                    (u, v)
                } else {
                    (v, u)
                });
            }
        }
    }
    // Keep it acyclic: orient every edge by a fixed permutation rank.
    let rank = |i: usize| (i * 7 + 3) % nodes;
    edges
        .into_iter()
        .map(|(a, b)| if rank(a) < rank(b) { (a, b) } else { (b, a) })
        .collect()
}

#[test]
fn dag_edges_go_from_lower_to_higher_layers() {
    for seed in 0..20 {
        let nodes = 3 + (seed as usize % 9);
        let edges = random_dag(nodes, 35, seed);
        let names: Vec<String> = (0..nodes).map(|i| format!("x{i}")).collect();
        let plot = DagPlot::new(names.clone(), edges.clone());
        let layout = plot.layout();
        for &(u, v) in &edges {
            assert!(
                layout.layer[u] < layout.layer[v],
                "seed {seed}: {u}->{v} {:?}",
                layout.layer
            );
        }
        // Every node appears in exactly one row, the row of its layer.
        let mut seen = vec![0; nodes];
        for (l, row) in layout.rows.iter().enumerate() {
            for &v in row {
                seen[v] += 1;
                assert_eq!(layout.layer[v], l);
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        // Roots are at layer 0 and each non-root sits right below its deepest parent.
        for v in 0..nodes {
            let parents: Vec<usize> = edges.iter().filter(|e| e.1 == v).map(|e| e.0).collect();
            let expect = parents
                .iter()
                .map(|&u| layout.layer[u] + 1)
                .max()
                .unwrap_or(0);
            assert_eq!(layout.layer[v], expect);
        }
        let svg = plot.render();
        assert_svg_ok(&svg);
        assert_eq!(svg.matches("class=\"edge\"").count(), {
            let mut e = edges.clone();
            e.sort_unstable();
            e.dedup();
            e.len()
        });
    }
}

#[test]
fn dag_from_core_dag() {
    let dag = remedy_core::Dag::new(
        &["G", "L", "D", "I", "S"],
        &[("G", "L"), ("G", "D"), ("L", "D"), ("D", "I"), ("I", "S")],
    )
    .unwrap();
    let plot = DagPlot::from_dag(&dag).highlight_names(["D", "unknown"]);
    assert_eq!(plot.layout().layer, vec![0, 1, 2, 3, 4]);
    let svg = plot.render();
    assert_svg_ok(&svg);
    assert_eq!(svg.matches("class=\"node highlight\"").count(), 1);
    // Five arrowheads.
    assert_eq!(svg.matches("<polygon").count(), 5);
}

#[test]
fn html_is_self_contained() {
    let html = full_report().render();
    let lower = html.to_ascii_lowercase();
    for bad in [
        "http", "<link", "src=", "@import", "<script", "<img", "<iframe", "xmlns",
    ] {
        assert!(!lower.contains(bad), "found {bad}");
    }
    // The only url(...) references are in-document fragments (clip paths).
    for (i, _) in lower.match_indices("url(") {
        assert!(lower[i + 4..].starts_with('#'), "external url at {i}");
    }
    assert_eq!(lower.matches("<style>").count(), 1);
    assert_eq!(lower.matches("<svg").count(), 6);
    assert_eq!(lower.matches("<figcaption>").count(), 6);
    let body = &html[html.find("<body>").unwrap()..html.find("</html>").unwrap()];
    assert_balanced(body);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("@media print"));
    // Three sections: a table of contents.
    assert!(html.contains("<nav class=\"toc\">"));
}

#[test]
fn standalone_svg_has_a_namespace_and_figures_drop_it() {
    let svg = LinePlot::new("")
        .series("a", [(0.0, 1.0), (1.0, 2.0)])
        .render();
    let file = standalone(&svg);
    assert!(file.starts_with("<?xml"));
    assert!(file.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(standalone(&file), file);
    let mut r = Report::new("t");
    r.figure(file, "");
    assert!(!r.render().contains("http"));
}

#[test]
fn tables_align_numbers_and_mark_the_best() {
    let t = HtmlTable::new(["method", "F1", "cost", "note"])
        .row([
            Cell::text("a"),
            Cell::num(0.9, 2),
            Cell::from(3.0),
            Cell::text("12"),
        ])
        .row([
            Cell::text("b"),
            Cell::num(0.95, 2),
            Cell::from(2.0),
            Cell::Empty,
        ])
        .row([
            Cell::text("c"),
            Cell::num(0.95, 2),
            Cell::from(f64::NAN),
            Cell::text("x"),
        ])
        .row([Cell::text("short")])
        .highlight_max(1)
        .highlight_min(2)
        .highlight_min(9);
    let html = t.render();
    assert_eq!(
        html.matches("<td class=\"num best\"><strong>0.95</strong></td>")
            .count(),
        2
    );
    assert_eq!(
        html.matches("<td class=\"num best\"><strong>2</strong></td>")
            .count(),
        1
    );
    assert!(html.contains("<td class=\"num\">0.90</td>"));
    assert!(html.contains("<td class=\"num\">–</td>"));
    assert!(html.contains("<th scope=\"col\" class=\"num\">F1</th>"));
    assert!(html.contains("<td>12</td>"), "text stays text");
    // The short row is padded to four cells.
    assert_eq!(html.matches("<tr>").count(), 5);
    assert!(html.contains("<tr><td>short</td><td></td><td></td><td></td></tr>"));
    assert_balanced(&html);
    // Strings that look like numbers are numbers.
    assert!(matches!(Cell::from("0.97"), Cell::Num { value, .. } if value == 0.97));
    assert!(matches!(Cell::from("RootCLAM"), Cell::Text(_)));
}

#[test]
fn table_from_core_table() {
    let t = remedy_core::Table::new(vec![
        (
            "<b>x</b>".into(),
            remedy_core::Column::Num(vec![1.0, f64::NAN, 2.5]),
        ),
        (
            "y".into(),
            remedy_core::Column::Text(vec!["a".into(), "b".into(), "c".into()]),
        ),
    ])
    .unwrap();
    let html = HtmlTable::from_table(&t, 2).render();
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
    assert!(html.contains("<td class=\"num\">1</td><td>a</td>"));
    assert!(!html.contains("2.5"));
}

#[test]
fn large_dag_renders() {
    let nodes = 150;
    let edges = random_dag(nodes, 8, 42);
    let names: Vec<String> = (0..nodes).map(|i| format!("feature_{i}")).collect();
    let plot = DagPlot::new(names, edges.clone());
    let layout = plot.layout();
    assert!(
        edges
            .iter()
            .all(|&(u, v)| layout.layer[u] < layout.layer[v])
    );
    assert_svg_ok(&plot.render());
}
