//! `remedy demo`, README's first command: it runs on built-in data with no files and shows the
//! exact counterfactuals of paper Tables 5-6 and the fit/explain/recommend workflow.

use assert_cmd::Command;

#[test]
fn demo_runs_the_tour() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("remedy")
        .unwrap()
        .current_dir(dir.path())
        .arg("demo")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    // Paper Table 5's SCM row: D = 5.634 − 11.336 − 5.958 = −11.660 (L's action propagates).
    assert!(text.contains("-11.660"), "{text}");
    // Paper Table 6's case: income drops from 60,816 to 45,816.
    assert!(text.contains("60816") && text.contains("45816"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("flagged rows made normal"))
        .unwrap_or_else(|| panic!("no workflow summary: {text}"));
    let nums: Vec<usize> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(nums.len() >= 2 && nums[0] * 10 >= nums[1] * 9, "{line}");
    // The demo writes no files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
