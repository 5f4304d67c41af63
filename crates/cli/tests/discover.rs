//! `remedy graph discover` through the binary: a collider and a chain learnt from generated
//! linear-Gaussian rows, tiers orienting what the data leave open, the learnt graph usable by
//! `graph check`, and bad input refused in one line with nothing written.

use std::path::Path;

use rand::Rng;

mod common;
use common::{ok, one_line_error, remedy};

/// a → c ← b, c → e (a collider the data orient, and an edge Meek's R1 orients), and a chain
/// p → q → r whose direction the data cannot tell; 4,000 rows.
fn rows(path: &Path) {
    let mut rng = remedy_core::seed::rng(11);
    let mut g = || {
        let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut text = String::from("a,b,c,e,p,q,r\n");
    for _ in 0..4000 {
        let (a, b) = (g(), g());
        let c = a + b + g();
        let e = 0.8 * c + g();
        let p = g();
        let q = 0.9 * p + g();
        let r = 0.9 * q + g();
        text.push_str(&format!("{a},{b},{c},{e},{p},{q},{r}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn discover(data: &Path, args: &[&str]) -> std::process::Output {
    remedy()
        .args(["graph", "discover", "--data"])
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn learns_orients_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rows.csv");
    rows(&data);
    let out = discover(&data, &["--format", "csv", "--alpha", "0.001"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "source,target,oriented_by");
    for edge in ["a,c,collider", "b,c,collider", "c,e,meek"] {
        assert!(lines.contains(&edge), "{edge} not in {csv}");
    }
    // The chain's two edges are there, set by the extension, without a collider at q.
    let chain: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.ends_with(",extension"))
        .collect();
    assert_eq!(chain.len(), 2, "{csv}");
    assert!(!(chain.contains(&"p,q,extension") && chain.contains(&"r,q,extension")));
    assert_eq!(lines.len(), 6, "{csv}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("left 2 edges unoriented"), "{err}");

    // Tiers fix the chain: p first, then q, then r.
    let tiers = dir.path().join("tiers.txt");
    std::fs::write(&tiers, "a, b, p\nq\nr\n").unwrap();
    let dot = dir.path().join("g.dot");
    ok(remedy()
        .args(["graph", "discover", "--alpha", "0.001", "--data"])
        .arg(&data)
        .arg("--tiers")
        .arg(&tiers)
        .arg("-o")
        .arg(&dot));
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.contains("p -> q") && text.contains("q -> r"), "{text}");
    let check = ok(remedy()
        .args(["graph", "check", "--graph"])
        .arg(&dot)
        .arg("--data")
        .arg(&data));
    assert!(check.contains("7 nodes, 5 edges, acyclic"), "{check}");
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("rows.csv");
    rows(&data);
    let out = d.join("g.dot");
    let o = out.to_str().unwrap();
    let tiers = d.join("tiers.txt");
    std::fs::write(&tiers, "a\nzz\n").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--require", "a->c", "--require", "c->a"], "cycle"),
        (&["--forbid", "a->nope"], "no column 'nope'"),
        (
            &["--require", "a->c", "--forbid", "a->c"],
            "a->c is forbidden",
        ),
        (&["--alpha", "2"], "--alpha must lie in (0, 1)"),
    ];
    for (args, needle) in cases {
        let mut all = args.to_vec();
        all.extend(["-o", o]);
        one_line_error(discover(&data, &all), needle);
        assert!(!out.exists());
    }
    one_line_error(
        discover(&data, &["--tiers", tiers.to_str().unwrap(), "-o", o]),
        "no column 'zz'",
    );
    std::fs::write(
        d.join("constant.csv"),
        "x,y,k\n1,2,5\n2,1,5\n3,5,5\n4,4,5\n5,3,5\n6,1,5\n7,2,5\n",
    )
    .unwrap();
    one_line_error(
        discover(&d.join("constant.csv"), &["-o", o]),
        "column 'k' is constant",
    );
    std::fs::write(d.join("few.csv"), "x,y,z\n1,2,3\n2,1,5\n3,5,1\n").unwrap();
    one_line_error(discover(&d.join("few.csv"), &["-o", o]), "at least 6 rows");
    std::fs::write(
        d.join("text.csv"),
        "x,y,w\n1,2,a\n2,1,b\n3,5,a\n4,4,b\n5,3,a\n6,1,b\n",
    )
    .unwrap();
    // A text column the schema calls continuous or binary.
    let schema = d.join("schema.toml");
    for kind in ["continuous", "binary"] {
        std::fs::write(
            &schema,
            format!("[[feature]]\nname = \"w\"\ntype = \"{kind}\"\n"),
        )
        .unwrap();
        let s = schema.to_str().unwrap();
        let args = ["--schema", s, "--columns", "x,y,w", "-o", o];
        one_line_error(discover(&d.join("text.csv"), &args), "column 'w'");
    }
    assert!(!out.exists());
}

/// A text column is a categorical variable, tested by its levels: `kind` (three levels whose
/// effect on `load` is +2, −4, +2, so that no order of the levels makes it monotone) causes
/// `load`, which causes `latency`; `flag` (0/1, declared binary) causes `latency` too.
#[test]
fn categorical_and_binary_columns_are_tested_by_their_levels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = remedy_core::seed::rng(5);
    let mut text = String::from("kind,load,flag,latency\n");
    for _ in 0..3000 {
        let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        let g1 = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let g2 = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).sin();
        let k = rng.random_range(0..3usize);
        let flag = u8::from(rng.random::<f64>() < 0.3);
        let load = [2.0, -4.0, 2.0][k] + g1;
        let latency = 0.8 * load + 1.5 * f64::from(flag) + g2;
        let kind = ["web", "batch", "api"][k];
        text.push_str(&format!("{kind},{load},{flag},{latency}\n"));
    }
    let data = d.join("mixed.csv");
    std::fs::write(&data, text).unwrap();
    let schema = d.join("schema.toml");
    std::fs::write(&schema, "[[feature]]\nname = \"flag\"\ntype = \"binary\"\n").unwrap();
    let out = discover(
        &data,
        &[
            "--columns",
            "kind,load,flag,latency",
            "--schema",
            schema.to_str().unwrap(),
            "--format",
            "csv",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("degenerate-Gaussian"), "{err}");
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut edges: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit_once(',').unwrap().0)
        .collect();
    edges.sort();
    // latency is a collider of load and flag, which the data orient; kind − load is left to
    // the extension (either direction adds no collider).
    assert!(csv.contains("load,latency,collider") && csv.contains("flag,latency,collider"));
    let kind_load = if edges.contains(&"kind,load") {
        "kind,load"
    } else {
        "load,kind"
    };
    let mut want = vec!["flag,latency", kind_load, "load,latency"];
    want.sort();
    assert_eq!(edges, want, "{csv}");
}

#[test]
fn fit_without_a_graph_learns_one_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("rows.csv");
    rows(&data);
    let out = remedy()
        .args([
            "fit",
            "--seed",
            "1",
            "--epochs",
            "2",
            "--recourse",
            "search",
        ])
        .args(["--graph-alpha", "0.001", "--train"])
        .arg(&data)
        .arg("--out")
        .arg(d.join("model"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no --graph: learnt one"), "{err}");
    // graph.dot in the model directory is the graph the model was fitted with.
    let learnt = remedy_core::dot::read_graph(&d.join("model/graph.dot")).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("model/remedy.json")).unwrap())
            .unwrap();
    let edges: Vec<(String, String)> =
        serde_json::from_value(manifest["graph"]["edges"].clone()).unwrap();
    let mut want: Vec<(String, String)> = learnt
        .edges()
        .into_iter()
        .map(|(a, b)| (learnt.name(a).to_string(), learnt.name(b).to_string()))
        .collect();
    let mut got = edges;
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(got.contains(&("a".into(), "c".into())) && got.contains(&("c".into(), "e".into())));
}
