//! `remedy ts fit` and `remedy ts monitor` through the binary on a generated Linear benchmark:
//! one JSON line per input step, alarms carry an action and its expected effect, the model
//! directory reloads, Parquet input gives the same model as CSV, and bad input or a tabular
//! model directory is refused with exit code 2.

use std::path::Path;

use assert_cmd::Command;

fn remedy() -> Command {
    Command::cargo_bin("remedy").unwrap()
}

/// Generates a small Linear benchmark and fits a time-series model on its normal series.
fn fitted(dir: &Path) {
    remedy()
        .args([
            "generate", "linear", "--train", "120", "--test", "12", "--seed", "4", "--out",
        ])
        .arg(dir.join("data"))
        .assert()
        .success();
    remedy()
        .args(["ts", "fit", "--epochs", "10", "--seed", "1", "--train"])
        .arg(dir.join("data/train.csv"))
        .arg("--out")
        .arg(dir.join("model"))
        .assert()
        .success();
}

/// `ts monitor --model MODEL [EXTRA]` over `input`: its answers.
fn monitored(model: &Path, extra: &[&str], input: String) -> Vec<serde_json::Value> {
    let out = remedy()
        .args(["ts", "monitor", "--model"])
        .arg(model)
        .args(extra)
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    lines(&out)
}

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn fit_then_monitor_a_csv_stream_and_a_jsonl_stream() {
    let dir = tempfile::tempdir().unwrap();
    fitted(dir.path());
    let test = std::fs::read_to_string(dir.path().join("data/test.csv")).unwrap();
    let steps = monitored(&dir.path().join("model"), &[], test.clone());
    // 12 series of 50 steps (RecAD spec §2.1), one answer per step.
    assert_eq!(steps.len(), test.lines().count() - 1);
    assert!(steps[0]["score"].is_null(), "no full window at step 0");
    assert_eq!(steps[4]["step"], 4);
    assert!(steps[4]["score"].as_f64().is_some());
    let alarms: Vec<&serde_json::Value> = steps.iter().filter(|s| s["alarm"] == true).collect();
    assert!(!alarms.is_empty(), "the shocks of +2 (5σ) raise alarms");
    for a in &alarms {
        for k in ["x", "w", "y", "z"] {
            assert!(a["action"][k].as_f64().is_some(), "{a}");
            assert!(a["expected_next_with_action"][k].as_f64().is_some(), "{a}");
        }
        assert!(
            a["score_after"].as_f64().is_some() && a["flips"].is_boolean(),
            "{a}"
        );
    }
    // The manifest keeps each variable's range over the training series, and no action carries
    // a variable further outside it than it was.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("model/remedy.json")).unwrap(),
    )
    .unwrap();
    let train = std::fs::read_to_string(dir.path().join("data/train.csv")).unwrap();
    let train_header: Vec<&str> = train.lines().next().unwrap().split(',').collect();
    let test_header: Vec<&str> = test.lines().next().unwrap().split(',').collect();
    let test_rows: Vec<Vec<&str>> = test
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for (j, k) in ["x", "w", "y", "z"].iter().enumerate() {
        assert_eq!(manifest["variables"][j], *k);
        let col = train_header.iter().position(|h| h == k).unwrap();
        let values: Vec<f64> = train
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
            .collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(manifest["bounds"]["lower"][j].as_f64(), Some(lo));
        assert_eq!(manifest["bounds"]["upper"][j].as_f64(), Some(hi));
        let tcol = test_header.iter().position(|h| h == k).unwrap();
        for (row, s) in test_rows
            .iter()
            .zip(&steps)
            .filter(|(_, s)| s["alarm"] == true)
        {
            let x: f64 = row[tcol].parse().unwrap();
            let acted = x + s["action"][k].as_f64().unwrap();
            assert!(
                acted >= lo.min(x) - 1e-9 && acted <= hi.max(x) + 1e-9,
                "{k}: {x} acted to {acted}, range [{lo}, {hi}]"
            );
        }
    }
    // The same steps as JSON lines give the same answers.
    let header: Vec<&str> = test.lines().next().unwrap().split(',').collect();
    let jsonl: String = test
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let mut obj = serde_json::Map::new();
            for (h, c) in header.iter().zip(&cells) {
                if let Ok(v) = c.parse::<f64>() {
                    obj.insert(h.to_string(), serde_json::json!(v));
                }
            }
            obj.insert("series_id".into(), serde_json::json!(cells[0]));
            format!("{}\n", serde_json::Value::Object(obj))
        })
        .collect();
    assert_eq!(
        monitored(&dir.path().join("model"), &[], jsonl),
        steps,
        "CSV and JSON lines give the same answers"
    );
    // Assuming every action applied, the counterfactual world has no more alarms than the
    // observed one (each acted window is judged after its action).
    let applied_alarms = monitored(&dir.path().join("model"), &["--assume-applied"], test)
        .iter()
        .filter(|s| s["alarm"] == true)
        .count();
    assert!(
        applied_alarms <= alarms.len(),
        "{applied_alarms} > {}",
        alarms.len()
    );
}

/// Each alarm names root-cause variables: on the Linear benchmark (RecAD spec §2.1) every
/// abnormal series has one shocked step whose shocked variables the generator writes in
/// `root_causes`; their children move at the next steps through the VAR, so a rule on the
/// values would name them too, while the innovations do not.
#[test]
fn alarms_name_the_shocked_variables_as_root_causes() {
    let dir = tempfile::tempdir().unwrap();
    fitted(dir.path());
    let test = std::fs::read_to_string(dir.path().join("data/test.csv")).unwrap();
    let header: Vec<&str> = test.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // Per series: the shocked step and its variables.
    let mut shocked = std::collections::BTreeMap::new();
    for l in test.lines().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        if c[col("is_anomaly")] == "1" {
            let mut v: Vec<String> = c[col("root_causes")].split('|').map(String::from).collect();
            v.sort();
            shocked.insert(c[0].to_string(), (c[col("t")].parse::<usize>().unwrap(), v));
        }
    }
    let steps = monitored(&dir.path().join("model"), &[], test.clone());
    let (mut judged, mut exact) = (0, 0);
    for s in &steps {
        if s["alarm"] != true {
            assert!(s["root_causes"].is_null(), "{s}");
            continue;
        }
        let p = s["root_cause_p"].as_object().unwrap();
        assert_eq!(p.len(), 4, "{s}");
        assert!(
            p.values()
                .all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap()))
        );
        let mut named: Vec<String> = s["root_causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert!(
            !named.is_empty(),
            "an alarm names at least one variable: {s}"
        );
        named.sort();
        // Alarms whose window (5 steps) holds the shocked step.
        let Some((t, truth)) = shocked.get(s["series"].as_str().unwrap()) else {
            continue;
        };
        let step = s["step"].as_u64().unwrap() as usize;
        if step >= *t && step < t + 5 {
            judged += 1;
            exact += usize::from(&named == truth);
        }
    }
    assert!(judged >= 5, "{judged} alarms on shocked windows");
    assert!(
        exact * 10 >= judged * 9,
        "{exact} of {judged} alarms name exactly the shocked variables"
    );
    // A model written before the innovation reference was kept still monitors, naming none;
    // a corrupt reference is refused, naming the file.
    let model = dir.path().join("model");
    let manifest_path = model.join("remedy.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(model.join("innovations.json"), "{not json").unwrap();
    remedy()
        .args(["ts", "monitor", "--model"])
        .arg(&model)
        .write_stdin(test.clone())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("innovations.json"));
    let mut old: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    old["files"].as_object_mut().unwrap().remove("innovations");
    std::fs::write(&manifest_path, old.to_string()).unwrap();
    let old_steps = monitored(&model, &[], test);
    assert!(old_steps.iter().any(|s| s["alarm"] == true));
    assert!(old_steps.iter().all(|s| s["root_causes"].is_null()));
}

#[test]
fn bad_streams_and_wrong_models_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fitted(dir.path());
    let model = dir.path().join("model");
    let run = |stdin: &str| {
        let out = remedy()
            .args(["ts", "monitor", "--model"])
            .arg(&model)
            .write_stdin(stdin.to_string())
            .assert()
            .code(2)
            .get_output()
            .clone();
        String::from_utf8(out.stderr).unwrap()
    };
    let e = run("series_id,x,w,y\n0,1,2,3\n");
    assert!(e.contains("lacks variable 'z'"), "{e}");
    let e = run("x,w,y,z\n1,2,3,4\n1,2,nan,4\n");
    assert!(e.contains("step 2") && e.contains("'y'"), "{e}");
    let e = run("{\"x\": 1, \"w\": 2, \"y\": 3}\n");
    assert!(
        e.contains("line 1") && e.contains("missing variable 'z'"),
        "{e}"
    );
    // A manifest whose bounds do not fit the variables is refused, naming the file.
    let manifest = model.join("remedy.json");
    let good = std::fs::read_to_string(&manifest).unwrap();
    let mut bad: serde_json::Value = serde_json::from_str(&good).unwrap();
    bad["bounds"]["lower"] = serde_json::json!([0.0, 0.0, 0.0]);
    std::fs::write(&manifest, bad.to_string()).unwrap();
    let e = run("x,w,y,z\n1,2,3,4\n");
    assert!(e.contains("remedy.json") && e.contains("bounds"), "{e}");
    std::fs::write(&manifest, good).unwrap();
    // Fitting refuses an occupied directory and a non-numeric variable.
    let e = remedy()
        .args(["ts", "fit", "--train"])
        .arg(dir.path().join("data/test.csv"))
        .arg("--out")
        .arg(&model)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(e).unwrap().contains("not empty"));
    let e = remedy()
        .args(["ts", "fit", "--train"])
        .arg(dir.path().join("data/test.csv"))
        .arg("--out")
        .arg(dir.path().join("m2"))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let e = String::from_utf8(e).unwrap();
    assert!(
        e.contains("root_causes") && e.contains("--variables"),
        "{e}"
    );
    // A corrupt component is refused on load.
    let weights = model.join("recad.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&weights, bytes).unwrap();
    let e = run("x,w,y,z\n1,2,3,4\n");
    assert!(e.contains("recad"), "{e}");
}

#[test]
fn a_tabular_model_is_not_a_time_series_model() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("remedy.json"),
        r#"{"format": "remedy-model", "format_version": 1}"#,
    )
    .unwrap();
    let out = remedy()
        .args(["ts", "monitor", "--model"])
        .arg(dir.path())
        .write_stdin("x\n1\n")
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let e = String::from_utf8(out).unwrap();
    assert!(e.contains("not a time-series model"), "{e}");
}

#[test]
fn parquet_input_reads_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    remedy()
        .args([
            "generate", "linear", "--train", "60", "--test", "4", "--seed", "2", "--out",
        ])
        .arg(d.join("data"))
        .assert()
        .success();
    let table = remedy_core::io::read_table(&d.join("data/train.csv")).unwrap();
    remedy_core::io::write_parquet(&table, &d.join("train.parquet")).unwrap();
    for (src, out) in [("data/train.csv", "m_csv"), ("train.parquet", "m_parquet")] {
        remedy()
            .args(["ts", "fit", "--epochs", "2", "--seed", "1", "--train"])
            .arg(d.join(src))
            .arg("--out")
            .arg(d.join(out))
            .assert()
            .success();
    }
    // Same data, same seed: the same model, bit for bit.
    for f in ["usad.safetensors", "gvar.safetensors", "recad.safetensors"] {
        let a = std::fs::read(d.join("m_csv").join(f)).unwrap();
        let b = std::fs::read(d.join("m_parquet").join(f)).unwrap();
        assert!(a == b, "{f} differs between CSV and Parquet input");
    }
}

/// A normal series running at another level (every variable +20, far outside the training
/// data) alarms at every scored step; with `--warmup 20` its first 20 steps set its level,
/// are not scored, and the rest is judged by its movements: few alarms, and the predictions
/// come back in the series' own level.
#[test]
fn warmup_judges_a_series_at_its_own_level() {
    let dir = tempfile::tempdir().unwrap();
    fitted(dir.path());
    let train = std::fs::read_to_string(dir.path().join("data/train.csv")).unwrap();
    let mut shifted = String::from("series_id,t,x,w,y,z\n");
    for line in train.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[0] != "7" {
            continue;
        }
        let values: Vec<String> = cells[2..]
            .iter()
            .map(|v| (v.parse::<f64>().unwrap() + 20.0).to_string())
            .collect();
        shifted.push_str(&format!("7,{},{}\n", cells[1], values.join(",")));
    }
    let monitor = |extra: &[&str]| monitored(&dir.path().join("model"), extra, shifted.clone());
    let plain = monitor(&[]);
    let scored: Vec<&serde_json::Value> = plain.iter().filter(|s| !s["score"].is_null()).collect();
    assert!(
        scored.iter().all(|s| s["alarm"] == true),
        "a shifted level is an anomaly"
    );
    let warm = monitor(&["--warmup", "20"]);
    assert_eq!(warm.len(), 50);
    assert!(
        warm[..20]
            .iter()
            .all(|s| s["score"].is_null() && s["alarm"] == false)
    );
    assert!(
        warm[20]["score"].as_f64().is_some(),
        "windows are full after the warm-up"
    );
    let alarms = warm.iter().filter(|s| s["alarm"] == true).count();
    assert!(
        alarms <= 5,
        "{alarms} alarms on a normal series after its warm-up"
    );
    let next = warm[30]["expected_next"]["x"].as_f64().unwrap();
    assert!(
        (next - 20.0).abs() < 5.0,
        "prediction {next} not in the series' level"
    );
}
