//! `remedy scm counterfactual` against the paper's case studies.

use assert_cmd::Command;
use predicates::prelude::*;

fn remedy() -> Command {
    Command::cargo_bin("remedy").unwrap()
}

fn json_rows(out: &[u8]) -> Vec<serde_json::Value> {
    serde_json::from_slice::<Vec<serde_json::Value>>(out).unwrap()
}

/// Acceptance, paper Table 5 (RootCLAM, Loan AE case; spec §9): x = (0, −1.878, −0.095, 2.423,
/// 5.634, −2.064, 0.697) with shift L = −5.958, D = −11.336 gives L −3.534, D −11.659, I and S
/// unchanged, y 0.976.
#[test]
fn paper_table5() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("rows.csv");
    std::fs::write(
        &d,
        "G,A,E,L,D,I,S\n0,-1.878,-0.095,2.423,5.634,-2.064,0.697\n",
    )
    .unwrap();
    let out = remedy()
        .args([
            "scm",
            "counterfactual",
            "loan",
            "--shift",
            "L=-5.958,D=-11.336",
            "--format",
            "json",
            "--data",
        ])
        .arg(&d)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r = &json_rows(&out)[0];
    let f = |k: &str| r[k].as_f64().unwrap();
    assert!((f("L") - -3.534).abs() <= 0.002, "{r}");
    assert!((f("D") - -11.659).abs() <= 0.002, "{r}");
    assert!(
        (f("I") - -2.064).abs() < 1e-9 && (f("S") - 0.697).abs() < 1e-9,
        "{r}"
    );
    assert!((f("y") - 0.976).abs() <= 0.001, "{r}");
    // The human table carries the same numbers.
    remedy()
        .args([
            "scm",
            "counterfactual",
            "loan",
            "--shift",
            "L=-5.958,D=-11.336",
            "--data",
        ])
        .arg(&d)
        .assert()
        .success()
        .stdout(predicates::str::contains("-11.660").and(predicates::str::contains("0.976")));
}

/// Acceptance, paper Table 6 (Adult case; spec §9): income 60,816; with H shifted by −9.672 it
/// becomes 45,816.
#[test]
fn paper_table6() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("rows.csv");
    std::fs::write(
        &d,
        "R,A,N,S,E,H,W,M,O,L\n2,36.401,1,1,5.264,52.520,1,1,2,1\n",
    )
    .unwrap();
    let out = remedy()
        .args([
            "scm",
            "counterfactual",
            "adult",
            "--shift",
            "H=-9.672",
            "--format",
            "json",
            "--data",
        ])
        .arg(&d)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r = &json_rows(&out)[0];
    assert_eq!(r["income_before"].as_f64().unwrap(), 60_816.0, "{r}");
    assert_eq!(r["income"].as_f64().unwrap(), 45_816.0, "{r}");
    assert!((r["H"].as_f64().unwrap() - 42.848).abs() < 0.001, "{r}");
}

/// With the generator's true noise the CLI reproduces the SCM's own counterfactual, and a noise
/// file that does not match the data is refused.
#[test]
fn noise_file_is_used_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    remedy()
        .args([
            "generate",
            "loan",
            "--train",
            "10",
            "--test",
            "5",
            "--anomalies",
            "15",
            "--seed",
            "4",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let test = dir.path().join("test.csv");
    let noise = dir.path().join("noise.csv");
    let with_noise = remedy()
        .args([
            "scm",
            "counterfactual",
            "loan",
            "--do",
            "L=0",
            "--format",
            "csv",
            "--data",
        ])
        .arg(&test)
        .arg("--noise")
        .arg(&noise)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let abducted = remedy()
        .args([
            "scm",
            "counterfactual",
            "loan",
            "--do",
            "L=0",
            "--format",
            "csv",
            "--data",
        ])
        .arg(&test)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let parse = |b: &[u8]| remedy_core::io::parse_csv(b, "out").unwrap();
    let (a, b) = (parse(&with_noise), parse(&abducted));
    assert_eq!(a.n_rows(), 20);
    for c in ["D", "y"] {
        for (x, y) in a.numeric(c).unwrap().iter().zip(b.numeric(c).unwrap()) {
            assert!((x - y).abs() < 1e-9, "{c}: {x} vs {y}");
        }
    }
    // Noise of other rows: refused, naming a column.
    let wrong = dir.path().join("wrong.csv");
    let mut lines: Vec<String> = std::fs::read_to_string(&noise)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.swap(1, 2);
    std::fs::write(&wrong, lines.join("\n")).unwrap();
    remedy()
        .args(["scm", "counterfactual", "loan", "--do", "L=0", "--data"])
        .arg(&test)
        .arg("--noise")
        .arg(&wrong)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("reproduces"));
}
