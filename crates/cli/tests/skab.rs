//! `remedy reproduce skab` through the binary on a small folder laid out as SKAB's (written
//! here: SKAB itself is never bundled): pooled FAR/MAR against counts the test can check, the
//! same bytes for the same seed, and bad folders and files refused in one line.

use std::path::Path;

use rand::Rng;

mod common;
use common::{ok, one_line_error, remedy};

const HEADER: &str = "datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;\
                      Thermocouple;Voltage;Volume Flow RateRMS;anomaly;changepoint";

/// A file of `n` steps of eight smooth sensors; from step `fault` on, the third sensor jumps
/// by 3 (about four of its standard deviations) and the rows are labelled anomalous.
fn write_experiment(path: &Path, n: usize, fault: Option<usize>, seed: u64) {
    let mut rng = remedy_core::seed::rng(seed);
    let mut text = format!("{HEADER}\n");
    for t in 0..n {
        let abnormal = fault.is_some_and(|f| t >= f);
        let (h, m, s) = (t / 3600, (t / 60) % 60, t % 60);
        text.push_str(&format!("2020-03-01 {h:02}:{m:02}:{s:02}"));
        for j in 0..8 {
            let mut v = (t as f64 / (20.0 + j as f64)).sin() + 0.1 * rng.random::<f64>();
            if abnormal && j == 2 {
                v += 3.0;
            }
            text.push_str(&format!(";{v}"));
        }
        text.push_str(&format!(";{};0\n", u8::from(abnormal)));
    }
    std::fs::write(path, text).unwrap();
}

fn skab_dir(root: &Path) {
    for f in ["anomaly-free", "other"] {
        std::fs::create_dir_all(root.join(f)).unwrap();
    }
    write_experiment(&root.join("anomaly-free/anomaly-free.csv"), 600, None, 1);
    write_experiment(&root.join("other/1.csv"), 480, Some(440), 2);
    write_experiment(&root.join("other/2.csv"), 470, Some(450), 3);
}

fn run(root: &Path, extra: &[&str]) -> std::process::Output {
    remedy()
        .args(["reproduce", "skab", "--data"])
        .arg(root)
        .args(["--folders", "other", "--epochs", "3"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn scores_the_rows_after_the_first_400_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    skab_dir(dir.path());
    let json = |out: std::process::Output| -> String {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let a = json(run(dir.path(), &["--format", "json"]));
    let b = json(run(dir.path(), &["--format", "json"]));
    let strip = |s: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v["seconds"] = 0.into();
        for e in v["experiments"].as_array_mut().unwrap() {
            e["fit_seconds"] = 0.into();
        }
        v
    };
    assert_eq!(strip(&a), strip(&b));
    let v = strip(&a);
    let e = v["experiments"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(
        (e[0]["scored"].as_u64(), e[0]["anomalies"].as_u64()),
        (Some(80), Some(40))
    );
    assert_eq!(
        (e[1]["scored"].as_u64(), e[1]["anomalies"].as_u64()),
        (Some(70), Some(20))
    );
    for (key, variant) in [("own", &v["own"]), ("anomaly_free", &v["anomaly_free"])] {
        let all = &variant.as_array().unwrap().last().unwrap()[1];
        let c = &all["counts"];
        let n = |k: &str| c[k].as_u64().unwrap() as f64;
        assert_eq!(n("tp") + n("fp") + n("fn_") + n("tn"), 150.0, "{key}");
        assert_eq!(n("tp") + n("fn_"), 60.0, "{key}");
        let far = 100.0 * n("fp") / (n("fp") + n("tn"));
        assert!((all["far"].as_f64().unwrap() - far).abs() < 1e-9, "{key}");
        // A jump of four standard deviations in one sensor is found.
        assert!(all["mar"].as_f64().unwrap() < 50.0, "{key}: {all}");
    }
    assert!(v["recourse"].as_object().is_none_or(|m| m.is_empty()));
    // The jump enters through the third sensor alone: the first alarm on each fault names it
    // (its innovation is the abnormal one) among the sensors.
    for x in e {
        let named: Vec<&str> = x["root_causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(x["first_fault_alarm"].as_u64().unwrap() >= 400, "{x}");
        assert!(named.contains(&"Current"), "{x}");
    }
    let shares = &v["root_causes"].as_array().unwrap()[0];
    assert_eq!(shares["folder"], "other");
    assert_eq!(shares["judged"], 2);
    assert_eq!(shares["shares"]["Current"].as_f64(), Some(1.0));
    assert_eq!(v["granger"]["names"].as_array().unwrap().len(), 8);
    // The page: tables, the Granger graph and the case figure.
    let page = dir.path().join("skab.html");
    assert!(
        run(dir.path(), &["--report", page.to_str().unwrap()])
            .status
            .success()
    );
    let html = std::fs::read_to_string(&page).unwrap();
    for part in [
        "Detection",
        "Root-cause sensors",
        "Granger graph",
        "A case",
        "other/1.csv",
    ] {
        assert!(html.contains(part), "{part} missing from the page");
    }
    assert!(html.matches("<svg").count() >= 2);
    let table = ok(remedy()
        .args(["reproduce", "skab", "--data"])
        .arg(dir.path())
        .args(["--folders", "other", "--epochs", "3", "--no-anomaly-free"]));
    assert!(table.contains("FAR %") && table.contains("LSTM"), "{table}");
    // With --recourse every method acts on the same alarms.
    let out = json(run(
        dir.path(),
        &["--no-anomaly-free", "--recourse", "--format", "json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let methods = v["recourse"].as_object().unwrap();
    assert_eq!(methods.len(), 5);
    for (name, m) in methods {
        let flip = m["flip_ratio"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&flip), "{name}: {m}");
        assert_eq!(
            m["abnormal_series"], methods["recad"]["abnormal_series"],
            "{name}"
        );
    }
}

#[test]
fn bad_folders_and_files_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    one_line_error(run(&root.join("nowhere"), &[]), "nowhere");
    skab_dir(root);
    one_line_error(
        remedy()
            .args(["reproduce", "skab", "--folders", "valve9", "--data"])
            .arg(root)
            .output()
            .unwrap(),
        "valve9",
    );
    let bad = root.join("other/2.csv");
    let text = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(&bad, text.replace("Pressure", "Pressur")).unwrap();
    one_line_error(run(root, &[]), "no column 'Pressure'");
    std::fs::write(
        &bad,
        text.replacen("2020-03-01 00:00:03", "03/01/2020 0:00:03", 1),
    )
    .unwrap();
    one_line_error(run(root, &[]), "row 4: datetime '03/01/2020 0:00:03'");
}
