//! The tabular user workflow through the binary: `remedy fit` on normal data and a graph, then
//! `detect`, `explain` and `recommend` on new rows, in every output format; bad input exits
//! with status 2 and a message naming the problem.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;
use common::{ok, remedy};

/// SplitMix64 and Box–Muller: seeded N(0, 1) draws without extra dependencies.
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn draw(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Normal rows of X0 → X1 → X2 → X3 with unit coefficients and N(0, 1) noise, as CSV.
fn chain_csv(n: usize, seed: u64) -> String {
    let mut rng = Normal(seed);
    let mut s = String::from("X0,X1,X2,X3\n");
    for _ in 0..n {
        let mut x = 0.0;
        let row: Vec<String> = (0..4)
            .map(|_| {
                x += rng.draw();
                format!("{x}")
            })
            .collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

/// Runs the command, expecting exit status 2 and `needle` in the one-line error.
fn bad(cmd: &mut Command, needle: &str) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "'{needle}' not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn json_rows(text: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<Vec<serde_json::Value>>(text).unwrap()
}

/// Fits the chain model into `dir/model` and returns its path.
fn fit_chain(dir: &Path) -> PathBuf {
    let train = dir.join("normal.csv");
    std::fs::write(&train, chain_csv(2000, 7)).unwrap();
    let edges = dir.join("edges.csv");
    std::fs::write(&edges, "source,target\nX0,X1\nX1,X2\nX2,X3\n").unwrap();
    let model = dir.join("model");
    ok(remedy()
        .args(["fit", "--epochs", "40", "--seed", "1", "--train"])
        .arg(&train)
        .arg("--graph")
        .arg(&edges)
        .arg("--out")
        .arg(&model));
    model
}

/// `--threads` changes where the work runs, never the answer: the detector trains beside the
/// causal model (additive-noise model and VACA, whose validation rows are split between the
/// threads), the recourse network's batches are computed in parts side by side, and every
/// model file is byte-identical to the one-thread fit's; `recommend` answers the same bytes on any number. `--threads 0` is
/// refused.
#[test]
fn thread_count_gives_byte_identical_models() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("normal.csv");
    std::fs::write(&train, chain_csv(600, 5)).unwrap();
    let edges = dir.path().join("edges.csv");
    std::fs::write(&edges, "source,target\nX0,X1\nX1,X2\nX2,X3\n").unwrap();
    for causal in ["anm", "vaca"] {
        let fit = |threads: &str| {
            let model = dir.path().join(format!("{causal}-{threads}"));
            ok(remedy()
                .args(["fit", "--epochs", "4", "--seed", "3", "--causal", causal])
                .args(["--threads", threads, "--train"])
                .arg(&train)
                .arg("--graph")
                .arg(&edges)
                .arg("--out")
                .arg(&model));
            common::dir_files(&model)
        };
        let (one, two) = (fit("1"), fit("2"));
        assert!(one.len() >= 6, "{causal}: {:?}", one.iter().map(|f| &f.0));
        common::assert_same_files(&one, &two, &format!("{causal}, 1 against 2 threads"));
    }
    // `recommend --threads`: the rows' searches spread over the threads, the same bytes out.
    let rows = dir.path().join("rows.csv");
    std::fs::write(
        &rows,
        "X0,X1,X2,X3
0,8,8,8
0.5,-7,-6.5,-6
6,6,6,12
0,0,0,0
-0.3,9,9.2,9.1
",
    )
    .unwrap();
    let recommend = |threads: &str| {
        ok(remedy()
            .arg("recommend")
            .args([
                "--method",
                "search",
                "--format",
                "csv",
                "--threads",
                threads,
            ])
            .arg("--model")
            .arg(dir.path().join("anm-1"))
            .arg("--data")
            .arg(&rows))
    };
    let one = recommend("1");
    assert!(one.lines().count() >= 4, "{one}");
    for threads in ["2", "3"] {
        assert_eq!(recommend(threads), one, "{threads} threads");
    }
    bad(
        remedy()
            .args(["recommend", "--threads", "0", "--model"])
            .arg(dir.path().join("anm-1"))
            .arg("--data")
            .arg(&rows),
        "--threads",
    );
    bad(
        remedy()
            .args(["fit", "--threads", "0", "--train"])
            .arg(&train)
            .arg("--graph")
            .arg(&edges)
            .arg("--out")
            .arg(dir.path().join("never")),
        "--threads",
    );
    assert!(!dir.path().join("never").exists());
}

/// The other detector and causal model (`--detector deepsvdd --causal vaca`) through the same
/// commands: the manifest records them, shifts of 10 sd are flagged and explained, and the
/// model reloads for every command.
#[test]
fn deepsvdd_and_vaca_models_fit_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("normal.csv");
    std::fs::write(&train, chain_csv(2000, 11)).unwrap();
    let edges = dir.path().join("edges.csv");
    std::fs::write(&edges, "source,target\nX0,X1\nX1,X2\nX2,X3\n").unwrap();
    let model = dir.path().join("model");
    ok(remedy()
        .args([
            "fit",
            "--detector",
            "deepsvdd",
            "--causal",
            "vaca",
            "--epochs",
            "20",
        ])
        .args(["--seed", "2", "--train"])
        .arg(&train)
        .arg("--graph")
        .arg(&edges)
        .arg("--out")
        .arg(&model));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("remedy.json")).unwrap()).unwrap();
    assert_eq!(manifest["detector"], "deepsvdd");
    assert_eq!(manifest["causal"], "vaca");
    let rows = dir.path().join("rows.csv");
    std::fs::write(&rows, "X0,X1,X2,X3\n0,10,10,10\n10,10,10,20\n").unwrap();
    let detect = json_rows(&ok(remedy()
        .args(["detect", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rows)));
    assert!(detect.iter().all(|r| r["is_anomaly"] == 1.0), "{detect:?}");
    let explain = json_rows(&ok(remedy()
        .args(["explain", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rows)));
    assert_eq!(explain.len(), 2);
    // VACA's abducted noise of the shifted node is the abnormal one (X1 in row 1).
    let causes = explain[0]["root_causes"].as_str().unwrap();
    assert!(causes.split('|').any(|c| c == "X1"), "{explain:?}");
    let recommend = json_rows(&ok(remedy()
        .args(["recommend", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rows)));
    assert_eq!(recommend.len(), 2);
    for r in &recommend {
        assert!(
            r["score_after"].as_f64() < r["score_before"].as_f64(),
            "{r}"
        );
    }
}

#[test]
fn chain_root_causes_are_found_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let model = fit_chain(dir.path());
    for f in ["remedy.json", "detector.json", "causal.safetensors"] {
        assert!(model.join(f).is_file(), "{f}");
    }
    let rows = dir.path().join("rows.csv");
    std::fs::write(
        &rows,
        "X0,X1,X2,X3\n0,10,10,10\n10,10,10,20\n0.1,0.2,-0.3,0.1\n",
    )
    .unwrap();
    let detect = json_rows(&ok(remedy()
        .args(["detect", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rows)));
    let flags: Vec<f64> = detect
        .iter()
        .map(|r| r["is_anomaly"].as_f64().unwrap())
        .collect();
    assert_eq!(flags, [1.0, 1.0, 0.0]);
    let explain = json_rows(&ok(remedy()
        .args(["explain", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rows)));
    assert_eq!(explain.len(), 2, "only anomalous rows: {explain:?}");
    assert_eq!(explain[0]["root_causes"], "X1");
    assert_eq!(explain[1]["root_causes"], "X0|X3");
    assert!(explain[0]["score_X1"].as_f64().unwrap() > explain[0]["score_X2"].as_f64().unwrap());
    let recommend = json_rows(&ok(remedy()
        .args(["recommend", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rows)));
    assert_eq!(recommend.len(), 2);
    for r in &recommend {
        assert_eq!(r["flips"], 1.0, "{r}");
        assert!(r["score_after"].as_f64() <= r["threshold"].as_f64(), "{r}");
    }
    // Row 1: act on X1 only, downwards; X0 untouched.
    assert_eq!(recommend[0]["action_X0"], 0.0);
    assert!(recommend[0]["action_X1"].as_f64().unwrap() < -5.0);
    assert_eq!(recommend[0]["action_X3"], 0.0);
    // Row 2: act on X0 and X3.
    assert!(recommend[1]["action_X0"].as_f64().unwrap() < -5.0);
    assert!(recommend[1]["action_X3"].as_f64().unwrap() < -5.0);
}

/// `remedy fit` trains the recourse network by default (RootCLAM's h_φ, on synthetic
/// anomalies): `recommend --method network` answers with it alone and makes the chain rows
/// normal acting only on their root causes; `--method search` never uses it; a model fitted
/// with `--recourse search` has none and says so; a corrupt network file is refused.
#[test]
fn recourse_network_and_search_methods() {
    let dir = tempfile::tempdir().unwrap();
    let model = fit_chain(dir.path());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("remedy.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["files"]["recourse"]["weights"],
        "recourse.safetensors"
    );
    let rows = dir.path().join("rows.csv");
    std::fs::write(&rows, "X0,X1,X2,X3\n0,10,10,10\n10,10,10,20\n").unwrap();
    let recommend_with = |model: &Path, method: &str, extra: &[&str]| {
        json_rows(&ok(remedy()
            .args([
                "recommend",
                "--format",
                "json",
                "--method",
                method,
                "--model",
            ])
            .arg(model)
            .arg("--data")
            .arg(&rows)
            .args(extra)))
    };
    let recommend = |model: &Path, method: &str| recommend_with(model, method, &[]);
    let net = recommend(&model, "network");
    assert_eq!(net.len(), 2);
    for r in &net {
        assert_eq!(r["method"], "network", "{r}");
        assert_eq!(r["flips"], 1.0, "{r}");
    }
    // Masked to the root causes: X1 only in row 1, X0 and X3 in row 2, each downwards.
    assert_eq!(net[0]["action_X0"], 0.0);
    assert_eq!(net[0]["action_X3"], 0.0);
    assert!(net[0]["action_X1"].as_f64().unwrap() < 0.0, "{:?}", net[0]);
    assert_eq!(net[1]["action_X1"], 0.0);
    assert!(net[1]["action_X0"].as_f64().unwrap() < 0.0, "{:?}", net[1]);
    assert!(net[1]["action_X3"].as_f64().unwrap() < 0.0, "{:?}", net[1]);
    // Auto keeps the network's action where it reaches the target: with the threshold target
    // where it makes the row normal; by default where its counterfactual is also plausible
    // enough (else the search, from the network's action, must find one at least as
    // plausible or the most plausible it can).
    assert_eq!(
        recommend_with(&model, "auto", &["--target", "threshold"]),
        net
    );
    for (r, n) in recommend(&model, "auto").iter().zip(&net) {
        let p = r["plausibility"].as_f64().unwrap();
        match r["method"].as_str().unwrap() {
            "network" => assert!(p >= 0.9 && r == n, "{r}"),
            _ => assert!(
                p >= 0.9 || p >= n["plausibility"].as_f64().unwrap(),
                "{r} {n}"
            ),
        }
    }
    // A model saved before the normal reference rows existed still answers, says that it
    // cannot judge plausibility, and leaves the column empty (null in JSON).
    let old = dir.path().join("no-support");
    std::fs::create_dir(&old).unwrap();
    for f in std::fs::read_dir(&model).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, old.join(f.file_name().unwrap())).unwrap();
    }
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(old.join("remedy.json")).unwrap()).unwrap();
    assert!(m.as_object_mut().unwrap().remove("support").is_some());
    std::fs::write(old.join("remedy.json"), m.to_string()).unwrap();
    let out = remedy()
        .args(["recommend", "--format", "json", "--model"])
        .arg(&old)
        .arg("--data")
        .arg(&rows)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("keeps no normal reference rows"), "{err}");
    for r in json_rows(&String::from_utf8(out.stdout).unwrap()) {
        assert!(r["plausibility"].is_null(), "{r}");
    }
    for r in recommend(&model, "search") {
        assert_eq!(r["method"], "search", "{r}");
    }

    let train = dir.path().join("normal.csv");
    let edges = dir.path().join("edges.csv");
    let plain = dir.path().join("plain");
    ok(remedy()
        .args(["fit", "--epochs", "5", "--recourse", "search", "--train"])
        .arg(&train)
        .arg("--graph")
        .arg(&edges)
        .arg("--out")
        .arg(&plain));
    assert!(!plain.join("recourse.json").exists());
    for r in recommend(&plain, "auto") {
        assert_eq!(r["method"], "search", "{r}");
    }
    bad(
        remedy()
            .args(["recommend", "--method", "network", "--model"])
            .arg(&plain)
            .arg("--data")
            .arg(&rows),
        "no recourse network",
    );

    let weights = model.join("recourse.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&weights, bytes).unwrap();
    bad(
        remedy()
            .args(["recommend", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&rows),
        "recourse.safetensors",
    );
}

#[test]
fn loan_fit_detect_explain_recommend() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("loan");
    ok(remedy()
        .args(["generate", "loan", "--seed", "1"])
        .args([
            "--train",
            "3000",
            "--test",
            "200",
            "--anomalies",
            "100",
            "--out",
        ])
        .arg(&data));
    let model = dir.path().join("model");
    let fit = remedy()
        .args(["fit", "--epochs", "30", "--seed", "1", "--train"])
        .arg(data.join("train.csv"))
        .arg("--graph")
        .arg(data.join("graph.dot"))
        .arg("--schema")
        .arg(data.join("schema.toml"))
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&fit.stderr);
    assert!(fit.status.success(), "{err}");
    // The label column is not in the graph: ignored with a warning that names it.
    assert!(err.contains("warning") && err.contains(": y"), "{err}");
    let test = data.join("test.csv");
    let run = |cmd: &str, format: &str| {
        ok(remedy()
            .args([cmd, "--format", format, "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&test))
    };
    // Every format parses and agrees on the rows.
    let csv = run("detect", "csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("row,score,threshold,is_anomaly"));
    let csv_rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(csv_rows.len(), 300);
    let json = json_rows(&run("detect", "json"));
    let jsonl: Vec<serde_json::Value> = run("detect", "jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json, jsonl);
    let table = run("detect", "table");
    assert_eq!(table.lines().count(), 301);
    assert!(table.starts_with("row"));
    for (c, j) in csv_rows.iter().zip(&json) {
        assert_eq!(c[0], j["row"].as_f64().unwrap());
        assert_eq!(c[3], j["is_anomaly"].as_f64().unwrap());
    }
    let flagged: Vec<f64> = csv_rows
        .iter()
        .filter(|r| r[3] == 1.0)
        .map(|r| r[0])
        .collect();
    assert!(flagged.len() >= 30, "{} flagged", flagged.len());
    // Most flagged rows are among the test file's true anomalies (its `is_anomaly` column).
    let truth: Vec<bool> = std::fs::read_to_string(&test)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(7) == Some("1"))
        .collect();
    assert_eq!(truth.iter().filter(|&&t| t).count(), 100);
    let true_pos = flagged.iter().filter(|&&r| truth[r as usize - 1]).count();
    assert!(
        true_pos * 2 > flagged.len(),
        "{true_pos} of {}",
        flagged.len()
    );

    let explain = json_rows(&run("explain", "json"));
    assert_eq!(explain.len(), flagged.len());
    for e in &explain {
        for f in ["score_L", "score_D", "score_I", "score_S"] {
            assert!(e[f].as_f64().unwrap() >= 0.0, "{e}");
        }
        assert!(e.get("score_G").is_none(), "G is not actionable");
    }
    let explain_all = run("explain", "jsonl");
    assert_eq!(explain_all.lines().count(), flagged.len());

    let out = dir.path().join("rec.csv");
    ok(remedy()
        .args(["recommend", "--format", "csv", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&test)
        .arg("-o")
        .arg(&out));
    let rec = std::fs::read_to_string(&out).unwrap();
    let header: Vec<&str> = rec.lines().next().unwrap().split(',').collect();
    for c in [
        "action_L",
        "cf_G",
        "cf_S",
        "score_before",
        "score_after",
        "flips",
        "cost",
    ] {
        assert!(header.contains(&c), "{c} not in {header:?}");
    }
    assert!(
        !header.contains(&"action_G"),
        "never act on a non-actionable feature"
    );
    let flips_at = header.iter().position(|c| *c == "flips").unwrap();
    let rows: Vec<Vec<&str>> = rec
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), flagged.len());
    let flips = rows.iter().filter(|r| r[flips_at] == "1").count();
    assert!(
        flips * 2 > rows.len(),
        "{flips} of {} flip\n{rec}",
        rows.len()
    );
    // The same seed gives the same recommendations.
    let again = run("recommend", "csv");
    assert_eq!(again, rec);
    let json = json_rows(&run("recommend", "json"));
    assert_eq!(json.len(), rows.len());
}

#[test]
fn bad_input_is_refused_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("edges.csv"), "source,target\nX0,X1\nX1,X2\nX2,X3\n").unwrap();
    let fit = |train: &Path, graph: &Path, out: &Path| {
        let mut c = remedy();
        c.args(["fit", "--epochs", "2", "--train"])
            .arg(train)
            .arg("--graph")
            .arg(graph)
            .arg("--out")
            .arg(out);
        c
    };
    // NaN (an empty cell) in the training data: under --missing error it names the row and
    // column and writes nothing; by default it is filled, and fit says so.
    let mut text = chain_csv(50, 1);
    text.push_str("1,,2,3\n");
    std::fs::write(p("nan.csv"), &text).unwrap();
    bad(
        fit(&p("nan.csv"), &p("edges.csv"), &p("m1")).args(["--missing", "error"]),
        "row 51, column 'X1'",
    );
    assert!(!p("m1").exists(), "nothing written on failure");
    let out = fit(&p("nan.csv"), &p("edges.csv"), &p("m1"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("1 empty cell") && err.contains("nan.csv"),
        "{err}"
    );
    std::fs::remove_dir_all(p("m1")).unwrap();
    // A graph node missing from the data.
    std::fs::write(p("small.csv"), "X0,X1,X2\n1,2,3\n").unwrap();
    bad(&mut fit(&p("small.csv"), &p("edges.csv"), &p("m2")), "'X3'");
    // A cyclic graph.
    std::fs::write(
        p("cyc.dot"),
        "digraph { X0 -> X1; X1 -> X2; X2 -> X0; X2 -> X3 }",
    )
    .unwrap();
    std::fs::write(p("train.csv"), chain_csv(200, 2)).unwrap();
    bad(
        &mut fit(&p("train.csv"), &p("cyc.dot"), &p("m3")),
        "X0 -> X1 -> X2 -> X0",
    );
    // --out pointing at a non-empty directory without --force: refused before training, and
    // the user's file is untouched.
    std::fs::create_dir(p("mine")).unwrap();
    std::fs::write(p("mine").join("notes.txt"), "keep me").unwrap();
    bad(
        &mut fit(&p("train.csv"), &p("edges.csv"), &p("mine")),
        "--force",
    );
    assert_eq!(
        std::fs::read_to_string(p("mine").join("notes.txt")).unwrap(),
        "keep me"
    );
    // A data column not in the graph is a warning, not an error.
    let mut extra = String::from("X0,X1,X2,X3,id\n");
    for (i, l) in chain_csv(200, 3).lines().skip(1).enumerate() {
        extra.push_str(&format!("{l},{i}\n"));
    }
    std::fs::write(p("extra.csv"), extra).unwrap();
    let out = fit(&p("extra.csv"), &p("edges.csv"), &p("m4"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning") && err.contains("id"), "{err}");
    let model = p("m4");
    // With --force the model files are replaced.
    ok(fit(&p("extra.csv"), &p("edges.csv"), &model).arg("--force"));
    // NaN in the rows to score: filled (with a warning) by a model fitted to impute, refused
    // naming the cell by one fitted with --missing error.
    std::fs::write(p("rows.csv"), "X0,X1,X2,X3\n0,1,2,3\n0,NaN,2,3\n").unwrap();
    let out = remedy()
        .args(["detect", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(p("rows.csv"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("1 empty cell"),
        "{err}"
    );
    let strict = p("m5");
    ok(fit(&p("extra.csv"), &p("edges.csv"), &strict).args(["--missing", "error"]));
    bad(
        remedy()
            .args(["detect", "--model"])
            .arg(&strict)
            .arg("--data")
            .arg(p("rows.csv")),
        "row 2, column 'X1'",
    );
    // A missing feature column in the rows to score.
    bad(
        remedy()
            .args(["explain", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(p("small.csv")),
        "missing column 'X3'",
    );
    // Bad root-cause flags: one line naming the flag, exit 2, nothing written.
    std::fs::write(p("fine.csv"), "X0,X1,X2,X3\n0,1,2,3\n").unwrap();
    for (flags, needle) in [
        (
            &["--alpha", "1.5"][..],
            "--alpha must lie in (0, 1), got 1.5",
        ),
        (&["--alpha", "0"][..], "--alpha must lie in (0, 1)"),
        (&["--rule", "fisher"][..], "fisher"),
        (&["--rule", "quantile", "--alpha", "0.05"][..], "--pi"),
        (
            &["--rule", "quantile", "--pi", "0.7"][..],
            "--pi must lie in (0, 0.5)",
        ),
    ] {
        bad(
            remedy()
                .args(["explain", "--model"])
                .arg(&model)
                .arg("--data")
                .arg(p("fine.csv"))
                .arg("-o")
                .arg(p("causes.csv"))
                .args(flags),
            needle,
        );
        assert!(!p("causes.csv").exists(), "nothing written for {flags:?}");
    }
    bad(
        remedy()
            .args([
                "recommend",
                "--rule",
                "holm",
                "--root-cause-alpha",
                "2",
                "--model",
            ])
            .arg(&model)
            .arg("--data")
            .arg(p("fine.csv")),
        "--root-cause-alpha must lie in (0, 1)",
    );
    // Bad target flags: one line naming the flag, exit 2, nothing written.
    for (flags, needle) in [
        (
            &["--target-quantile", "1.5"][..],
            "--target-quantile must lie in (0, 1), got 1.5",
        ),
        (
            &["--target-quantile", "0"][..],
            "--target-quantile must lie in (0, 1)",
        ),
        (&["--target", "nearest"][..], "nearest"),
        (
            &["--target", "threshold", "--target-quantile", "0.5"][..],
            "--target-quantile and --min-plausibility apply to --target typical",
        ),
        (
            &["--min-plausibility", "1"][..],
            "--min-plausibility must lie in (0, 1), got 1",
        ),
        (
            &["--target", "typical", "--alpha", "0.5"][..],
            "--alpha sets the margin of --target threshold",
        ),
    ] {
        bad(
            remedy()
                .args(["recommend", "--model"])
                .arg(&model)
                .arg("--data")
                .arg(p("fine.csv"))
                .arg("-o")
                .arg(p("actions.csv"))
                .args(flags),
            needle,
        );
        assert!(!p("actions.csv").exists(), "nothing written for {flags:?}");
    }
    bad(
        fit(&p("extra.csv"), &p("edges.csv"), &p("m6")).args(["--target-quantile", "1"]),
        "--target-quantile must lie in (0, 1)",
    );
    assert!(!p("m6").exists(), "nothing written by a refused fit");
    // A model directory from before the p-value calibration (format version 1): refit.
    let old = p("old-model");
    std::fs::create_dir(&old).unwrap();
    for f in std::fs::read_dir(&model).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, old.join(f.file_name().unwrap())).unwrap();
    }
    let manifest = std::fs::read_to_string(old.join("remedy.json")).unwrap();
    let v1 = manifest.replacen("\"format_version\": 2", "\"format_version\": 1", 1);
    assert_ne!(v1, manifest);
    std::fs::write(old.join("remedy.json"), v1).unwrap();
    bad(
        remedy()
            .args(["explain", "--model"])
            .arg(&old)
            .arg("--data")
            .arg(p("fine.csv"))
            .arg("-o")
            .arg(p("causes.csv")),
        "refit",
    );
    assert!(!p("causes.csv").exists());
    // A truncated weights file is caught by its checksum.
    std::fs::write(p("ok.csv"), "X0,X1,X2,X3\n0,1,2,3\n").unwrap();
    let weights = model.join("detector.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    bad(
        remedy()
            .args(["detect", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(p("ok.csv")),
        "detector.safetensors",
    );
    // A truncated manifest.
    let manifest = model.join("remedy.json");
    let text = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, &text[..text.len() / 3]).unwrap();
    bad(
        remedy()
            .args(["recommend", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(p("ok.csv")),
        "remedy.json",
    );
    // Not a model directory at all.
    bad(
        remedy()
            .args(["detect", "--model"])
            .arg(dir.path())
            .arg("--data")
            .arg(p("ok.csv")),
        "remedy fit",
    );
}

/// `remedy report` writes one self-contained HTML page (graph, plots, the action table) and
/// refuses to write over its own input.
#[test]
fn report_is_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let model = fit_chain(dir.path());
    let rows = dir.path().join("rows.csv");
    std::fs::write(
        &rows,
        "X0,X1,X2,X3\n0,0,0,0\n0,10,10,10\n10,10,10,20\n0.5,0.2,0.1,-0.3\n",
    )
    .unwrap();
    let out = dir.path().join("report.html");
    ok(remedy()
        .args(["report", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rows)
        .arg("-o")
        .arg(&out));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{}",
        &html[..60.min(html.len())]
    );
    assert!(
        html.matches("<svg").count() >= 3,
        "graph, scores and root-cause plots"
    );
    for name in ["X0", "X1", "X2", "X3"] {
        assert!(html.contains(name), "{name} missing");
    }
    assert!(
        !html.contains("http") && !html.contains("<script"),
        "no network, no script"
    );
    bad(
        remedy()
            .args(["report", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&rows)
            .arg("-o")
            .arg(&rows),
        "overwrite",
    );
    assert!(std::fs::read_to_string(&rows).unwrap().starts_with("X0,X1"));
}

/// Rows to score that are malformed in the ways a user's export can be: each is refused with
/// exit status 2 and a message naming the problem, never a panic and never a silent verdict.
#[test]
fn malformed_rows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = fit_chain(dir.path());
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "dup.csv",
            b"X0,X1,X1,X3\n1,2,3,4\n",
            "duplicate column 'X1'",
        ),
        ("empty.csv", b"", "empty"),
        ("latin1.csv", b"X0,X1,X2,X3\n\xff\xfe,1,2,3\n", "UTF-8"),
        (
            "text.csv",
            b"X0,X1,X2,X3\n0,abc,2,3\n",
            "'abc' is not a number",
        ),
        ("inf.csv", b"X0,X1,X2,X3\n0,inf,2,3\n", "'X1'"),
    ];
    for (name, content, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        for command in ["detect", "recommend"] {
            bad(
                remedy()
                    .args([command, "--model"])
                    .arg(&model)
                    .arg("--data")
                    .arg(&path),
                needle,
            );
        }
    }
}

/// A value far beyond f32 once scaled (it once scored NaN, "normal", then was refused) is
/// the strongest evidence there is: flagged, its feature ranked first. An unknown --target
/// or --missing is bad input.
#[test]
fn far_values_are_scored_and_targets_checked() {
    let dir = tempfile::tempdir().unwrap();
    let model = fit_chain(dir.path());
    let huge = dir.path().join("huge.csv");
    std::fs::write(&huge, "X0,X1,X2,X3\n0,1e308,2,3\n0,1e12,,3\n").unwrap();
    let detect = json_rows(&ok(remedy()
        .args(["detect", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&huge)));
    assert!(detect.iter().all(|r| r["is_anomaly"] == 1.0), "{detect:?}");
    let explain = json_rows(&ok(remedy()
        .args(["explain", "--format", "json", "--target", "X3", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&huge)));
    for r in &explain {
        assert_eq!(r["rank_X1"], 1.0, "{r}");
    }
    // Row 2's X2 was empty: no evidence.
    assert_eq!(explain[1]["pvalue_X2"], 1.0);
    bad(
        remedy()
            .args(["explain", "--target", "nope", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&huge),
        "--target 'nope' is not a feature",
    );
    bad(
        remedy().args([
            "fit",
            "--missing",
            "drop",
            "--train",
            "a.csv",
            "--graph",
            "g.csv",
        ]),
        "--missing",
    );
}

/// A category the model never saw (Adult's race R has levels 0..3) is bad input: exit 2 with
/// the row, the column and the valid levels; the same row with a known level scores.
#[test]
fn unknown_category_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(remedy()
        .args([
            "generate",
            "adult",
            "--train",
            "400",
            "--test",
            "20",
            "--anomalies",
            "5",
        ])
        .args(["--seed", "1", "--out"])
        .arg(d.join("adult")));
    let model = d.join("model");
    ok(remedy()
        .args(["fit", "--epochs", "2", "--train"])
        .arg(d.join("adult/train.csv"))
        .arg("--graph")
        .arg(d.join("adult/graph.dot"))
        .arg("--schema")
        .arg(d.join("adult/schema.toml"))
        .arg("--out")
        .arg(&model));
    let header = "R,A,N,S,E,H,W,M,O,L";
    for (r, fine) in [("0", true), ("7", false)] {
        let rows = d.join(format!("rows_{r}.csv"));
        std::fs::write(&rows, format!("{header}\n{r},32.7,3,0,19.6,22.0,3,0,1,2\n")).unwrap();
        let mut cmd = remedy();
        cmd.args(["detect", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&rows);
        if fine {
            ok(&mut cmd);
        } else {
            bad(&mut cmd, "column 'R': 7 is not a level");
        }
    }
}
