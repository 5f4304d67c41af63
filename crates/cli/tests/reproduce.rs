//! `remedy reproduce detection` through the binary: USAD on Linear point anomalies reports all
//! three metrics, and the same seed gives the same numbers.

use assert_cmd::Command;

fn run(seed: &str) -> serde_json::Value {
    let out = Command::cargo_bin("remedy")
        .unwrap()
        .args([
            "reproduce",
            "detection",
            "--dataset",
            "linear",
            "--detector",
            "usad",
            "--format",
            "json",
            "--seed",
            seed,
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn usad_on_linear_reports_f1_auroc_auprc_reproducibly() {
    let a = run("1");
    for k in ["f1", "auroc", "auprc"] {
        let v = a[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {a}"));
        assert!((0.0..=1.0).contains(&v), "{k} = {v}");
    }
    // Shocks of +2 on noise of sd 0.4 (RecAD spec §2.1) are visible: observed window AUROC ≈ 0.96.
    assert!(a["auroc"].as_f64().unwrap() > 0.85, "{a}");
    assert!(a["steps"]["auroc"].as_f64().is_some());
    let b = run("1");
    for k in ["f1", "auroc", "auprc", "threshold"] {
        assert_eq!(a[k], b[k], "{k}: same seed, same number");
    }
}

#[test]
fn mismatched_detector_is_refused() {
    let out = Command::cargo_bin("remedy")
        .unwrap()
        .args([
            "reproduce",
            "detection",
            "--dataset",
            "loan",
            "--detector",
            "usad",
        ])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(
        err.contains("time series") && err.lines().count() == 1,
        "{err}"
    );
}
