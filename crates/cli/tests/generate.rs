//! Integration tests of `remedy generate`: the acceptance lines of the benchmark issue, run
//! through the binary.

use std::path::Path;

use predicates::prelude::*;
use remedy_core::io::read_csv;

mod common;
use common::remedy;

fn generate(args: &[&str], out: &Path) {
    remedy()
        .arg("generate")
        .args(args)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

/// Acceptance: `remedy generate loan --seed 1` gives 10,000 normal training rows with y > 0.95
/// and 11,000 test rows, 1,000 anomalous with y < 0.05 and root causes drawn from {L,D,I,S}.
#[test]
fn loan_default_sizes_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    generate(&["loan", "--seed", "1"], dir.path());
    let train = read_csv(&dir.path().join("train.csv")).unwrap();
    assert_eq!(train.n_rows(), 10_000);
    assert!(train.numeric("y").unwrap().iter().all(|&y| y > 0.95));
    let test = read_csv(&dir.path().join("test.csv")).unwrap();
    assert_eq!(test.n_rows(), 11_000);
    let is_anom = test.numeric("is_anomaly").unwrap();
    let y = test.numeric("y").unwrap();
    let rc = match test.column("root_causes").unwrap() {
        remedy_core::Column::Text(v) => v.clone(),
        remedy_core::Column::Num(_) => panic!("root_causes must be text"),
    };
    assert_eq!(is_anom.iter().filter(|&&a| a == 1.0).count(), 1_000);
    for i in 0..test.n_rows() {
        if is_anom[i] == 1.0 {
            assert!(y[i] < 0.05, "row {i}: y {}", y[i]);
            assert!(!rc[i].is_empty());
            assert!(
                rc[i].split('|').all(|n| ["L", "D", "I", "S"].contains(&n)),
                "{}",
                rc[i]
            );
        } else {
            assert!(y[i] > 0.95);
            assert!(rc[i].is_empty());
        }
    }
    let noise = read_csv(&dir.path().join("noise.csv")).unwrap();
    assert_eq!(noise.n_rows(), 11_000);
    for f in ["graph.dot", "schema.toml", "dataset.json"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    // The written graph and schema are readable by our own tools.
    remedy()
        .args(["graph", "check", "--graph"])
        .arg(dir.path().join("graph.dot"))
        .arg("--data")
        .arg(dir.path().join("train.csv"))
        .assert()
        .success()
        .stdout(predicates::str::contains("7 nodes, 11 edges"));
    remedy_core::Schema::read(&dir.path().join("schema.toml")).unwrap();
}

/// Acceptance: the same seed gives byte-identical files, a different seed different files.
#[test]
fn seeds_are_reproducible() {
    for dataset in ["loan", "adult", "linear", "lotka-volterra"] {
        let small: &[&str] = match dataset {
            "loan" | "adult" => &["--train", "300", "--test", "300", "--anomalies", "70"],
            _ => &["--train", "5", "--test", "5"],
        };
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let args = |seed: &'static str| [&[dataset, "--seed", seed][..], small].concat();
        generate(&args("7"), a.path());
        generate(&args("7"), b.path());
        generate(&args("8"), c.path());
        let (fa, fb, fc) = (
            common::dir_files(a.path()),
            common::dir_files(b.path()),
            common::dir_files(c.path()),
        );
        assert_eq!(fa, fb, "{dataset}: same seed, same bytes");
        let test =
            |f: &[(String, Vec<u8>)]| f.iter().find(|(n, _)| n == "test.csv").unwrap().1.clone();
        assert_ne!(test(&fa), test(&fc), "{dataset}: another seed, other data");
    }
}

#[test]
fn never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.csv"), "precious").unwrap();
    remedy()
        .args([
            "generate",
            "loan",
            "--train",
            "10",
            "--test",
            "10",
            "--anomalies",
            "15",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("train.csv").and(predicates::str::contains("--force")));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("train.csv")).unwrap(),
        "precious"
    );
}

#[test]
fn time_series_long_format() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        &[
            "linear",
            "--anomaly",
            "sequence",
            "--train",
            "4",
            "--test",
            "6",
            "--seed",
            "3",
        ],
        dir.path(),
    );
    let test = read_csv(&dir.path().join("test.csv")).unwrap();
    assert_eq!(&test.names()[..6], &["series_id", "t", "x", "w", "y", "z"]);
    assert_eq!(
        test.n_rows(),
        6 * 50,
        "Linear series have 50 steps (RecAD spec §2.1)"
    );
    // Sequence anomalies: 3 labelled steps per series.
    assert_eq!(
        test.numeric("is_anomaly")
            .unwrap()
            .iter()
            .filter(|&&a| a == 1.0)
            .count(),
        18
    );
    let normal = read_csv(&dir.path().join("test_normal.csv")).unwrap();
    assert_eq!(normal.n_rows(), test.n_rows());
    let train = read_csv(&dir.path().join("train.csv")).unwrap();
    assert_eq!(train.n_rows(), 4 * 50);
}
