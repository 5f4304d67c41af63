//! Bad input through the binary: each case exits with status 2 and a one-line error naming the
//! problem, and nothing panics.

use assert_cmd::Command;
use predicates::prelude::*;

fn remedy() -> Command {
    Command::cargo_bin("remedy").unwrap()
}

fn one_line_error(cmd: &mut Command, needle: &str) {
    let out = cmd.assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "'{needle}' not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn cyclic_graph() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.dot");
    std::fs::write(&g, "digraph { A -> B; B -> C; C -> A; C -> D }").unwrap();
    one_line_error(
        remedy().args(["graph", "check", "--graph"]).arg(&g),
        "A -> B -> C -> A",
    );
    let csv = dir.path().join("g.csv");
    std::fs::write(&csv, "source,target\nx,y\ny,x\n").unwrap();
    one_line_error(
        remedy().args(["graph", "check", "--graph"]).arg(&csv),
        "cycle",
    );
}

#[test]
fn graph_node_missing_from_data() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.csv");
    std::fs::write(&g, "source,target\nA,B\n").unwrap();
    let d = dir.path().join("d.csv");
    std::fs::write(&d, "A,C\n1,2\n").unwrap();
    one_line_error(
        remedy()
            .args(["graph", "check", "--graph"])
            .arg(&g)
            .arg("--data")
            .arg(&d),
        "B",
    );
}

#[test]
fn missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("rows.csv");
    std::fs::write(&d, "G,A,E,L,D,I\n0,-1.878,-0.095,2.423,5.634,-2.064\n").unwrap();
    one_line_error(
        remedy()
            .args(["scm", "counterfactual", "loan", "--shift", "L=-1", "--data"])
            .arg(&d),
        "missing column 'S'",
    );
}

#[test]
fn nan_cell() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("rows.csv");
    std::fs::write(
        &d,
        "G,A,E,L,D,I,S\n0,-1.878,-0.095,2.423,5.634,-2.064,0.697\n0,1,0,NaN,1,1,1\n",
    )
    .unwrap();
    one_line_error(
        remedy()
            .args(["scm", "counterfactual", "loan", "--shift", "L=-1", "--data"])
            .arg(&d),
        "row 2, column 'L'",
    );
}

#[test]
fn unknown_dataset_and_node() {
    let dir = tempfile::tempdir().unwrap();
    one_line_error(
        remedy()
            .args(["generate", "mnist", "--out"])
            .arg(dir.path()),
        "mnist",
    );
    let d = dir.path().join("rows.csv");
    std::fs::write(
        &d,
        "G,A,E,L,D,I,S\n0,-1.878,-0.095,2.423,5.634,-2.064,0.697\n",
    )
    .unwrap();
    one_line_error(
        remedy()
            .args(["scm", "counterfactual", "loan", "--shift", "Q=1", "--data"])
            .arg(&d),
        "unknown node 'Q'",
    );
    one_line_error(
        remedy()
            .args(["scm", "counterfactual", "loan", "--shift", "G=1", "--data"])
            .arg(&d),
        "'G'",
    );
}

#[test]
fn missing_file_and_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    one_line_error(
        remedy()
            .args(["scm", "counterfactual", "loan", "--shift", "L=1", "--data"])
            .arg(dir.path().join("nope.csv")),
        "nope.csv",
    );
    let e = dir.path().join("empty.csv");
    std::fs::write(&e, "").unwrap();
    one_line_error(
        remedy()
            .args(["scm", "counterfactual", "loan", "--shift", "L=1", "--data"])
            .arg(&e),
        "empty",
    );
}

#[test]
fn help_reads_well() {
    remedy()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("root cause").and(predicate::str::contains("generate")));
}

/// A disconnected graph is a valid causal model (independent parts), so `graph check` accepts
/// it and names the isolated nodes and the data columns the graph leaves out.
#[test]
fn disconnected_graph_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.dot");
    std::fs::write(&g, "digraph { A -> B; C; }").unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "A,B,C,D\n1,2,3,4\n").unwrap();
    let out = remedy()
        .args(["graph", "check", "--graph"])
        .arg(&g)
        .arg("--data")
        .arg(&data)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("isolated nodes: C"), "{text}");
    assert!(
        text.contains("columns not in the graph") && text.contains('D'),
        "{text}"
    );
}

#[test]
fn bad_mitigation_settings_are_refused_before_any_training() {
    for (flag, value, needle) in [
        ("--max-action", "0", "action bound"),
        ("--max-action", "nan", "action bound"),
        ("--lambda", "-1", "λ must be"),
        ("--alpha", "inf", "α must be"),
    ] {
        one_line_error(
            remedy()
                .args([
                    "reproduce",
                    "rootclam",
                    "--dataset",
                    "loan",
                    "--detector",
                    "ae",
                ])
                .arg(format!("{flag}={value}")),
            needle,
        );
    }
}
