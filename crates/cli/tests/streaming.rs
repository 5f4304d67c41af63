//! `detect`, `explain` and `recommend` read their rows a batch at a time: the answers do not
//! depend on the batch size (to the last bit), Parquet gives what CSV gives, and a file that
//! breaks midway leaves no output file behind.

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

#[test]
fn answers_do_not_depend_on_the_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    // 2,300 rows in batches of 700 (the last one short) and of 90: the networks see a few
    // flagged rows at a time instead of hundreds, and every cell is still the same text
    // (`remedy_nn::tensor::matmul`).
    for command in ["detect", "explain", "recommend"] {
        let whole = run(d, command, "loan/test.csv", None);
        assert!(whole.lines().count() > 20, "{command}: too few rows");
        for rows in [700, 90] {
            let batched = run(d, command, "loan/test.csv", Some(rows));
            assert!(
                whole == batched,
                "{command} in batches of {rows} rows differs"
            );
        }
    }
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
