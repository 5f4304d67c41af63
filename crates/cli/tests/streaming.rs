//! `detect`, `explain` and `recommend` read their rows a batch at a time: the answers do not
//! depend on the batch size (explain's and recommend's numbers up to the networks' last digits),
//! Parquet gives what CSV gives, and a file that breaks midway leaves no output file behind.

use std::path::Path;

mod common;
use common::{ok, remedy};

/// Generated Loan (RootCLAM's SCM) and a model fitted on it with few epochs.
fn setup(dir: &Path) {
    ok(remedy()
        .args([
            "generate", "loan", "--seed", "2", "--train", "3000", "--test", "2000",
        ])
        .args(["--anomalies", "300", "--out"])
        .arg(dir.join("loan")));
    ok(remedy()
        .args(["fit", "--seed", "1", "--epochs", "3", "--train"])
        .arg(dir.join("loan/train.csv"))
        .arg("--graph")
        .arg(dir.join("loan/graph.dot"))
        .arg("--schema")
        .arg(dir.join("loan/schema.toml"))
        .arg("--out")
        .arg(dir.join("model")));
}

fn run(dir: &Path, command: &str, data: &str, batch: Option<usize>) -> String {
    let mut cmd = remedy();
    cmd.arg(command)
        .arg("--model")
        .arg(dir.join("model"))
        .arg("--data")
        .arg(dir.join(data))
        .args(["--format", "csv"]);
    if command == "recommend" {
        cmd.args(["--seed", "4"]);
    }
    if let Some(n) = batch {
        cmd.args(["--batch-rows", &n.to_string()]);
    }
    ok(&mut cmd)
}

/// Equal text cells and row numbers; numbers equal to 1e-6 relative (the f32 networks' kernels
/// sum in another order for small batches).
fn same(a: &str, b: &str, exact: &[&str]) {
    let a: Vec<Vec<&str>> = a.lines().map(|l| l.split(',').collect()).collect();
    let b: Vec<Vec<&str>> = b.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(a.len(), b.len());
    assert_eq!(a[0], b[0]);
    assert!(a.len() > 20, "too few rows to compare: {}", a.len());
    for (ra, rb) in a.iter().zip(&b).skip(1) {
        for ((name, x), y) in a[0].iter().zip(ra).zip(rb) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(u), Ok(v)) if !exact.contains(name) => {
                    assert!(
                        (u - v).abs() <= 1e-6 * u.abs().max(1.0),
                        "{name}: {u} vs {v}"
                    );
                }
                _ => assert_eq!(x, y, "{name}"),
            }
        }
    }
}

#[test]
fn answers_do_not_depend_on_the_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    // 2,300 rows in batches of 700: the last one short.
    let whole = run(d, "detect", "loan/test.csv", None);
    assert_eq!(whole, run(d, "detect", "loan/test.csv", Some(700)));
    assert_eq!(whole.lines().count(), 2301);
    let whole = run(d, "explain", "loan/test.csv", None);
    same(
        &whole,
        &run(d, "explain", "loan/test.csv", Some(700)),
        &["row", "is_anomaly"],
    );
    let whole = run(d, "recommend", "loan/test.csv", None);
    let exact = [
        "row", "action_L", "action_D", "action_I", "action_S", "flips", "feasible",
    ];
    same(
        &whole,
        &run(d, "recommend", "loan/test.csv", Some(700)),
        &exact,
    );
}

#[test]
fn parquet_gives_what_csv_gives_and_a_broken_file_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let table = remedy_core::io::read_table(&d.join("loan/test.csv")).unwrap();
    remedy_core::io::write_table(&table, &d.join("rows.parquet")).unwrap();
    let csv = run(d, "detect", "loan/test.csv", Some(500));
    assert_eq!(csv, run(d, "detect", "rows.parquet", Some(500)));

    // A row cut short in the fourth batch of two rows: exit 2 naming the line, and neither
    // the output file nor a temporary file is left.
    let text = std::fs::read_to_string(d.join("loan/test.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().take(9).collect();
    let cut = lines[8].rsplitn(4, ',').last().unwrap().to_string();
    lines[8] = &cut;
    std::fs::write(d.join("cut.csv"), lines.join("\n") + "\n").unwrap();
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    let result = remedy()
        .args([
            "explain",
            "--all",
            "--batch-rows",
            "2",
            "--format",
            "csv",
            "--model",
        ])
        .arg(d.join("model"))
        .arg("--data")
        .arg(d.join("cut.csv"))
        .arg("-o")
        .arg(out.join("causes.csv"))
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("cut.csv") && err.contains("line 9"), "{err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}
