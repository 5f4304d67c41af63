//! Helpers shared by the CLI's integration tests.

use assert_cmd::Command;

/// The `remedy` binary built for these tests.
pub fn remedy() -> Command {
    Command::cargo_bin("remedy").unwrap()
}

/// Runs the command, expecting success; returns stdout.
#[allow(dead_code)] // not every test file runs commands this way
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts that a run failed with exit status 2 and one stderr line containing `needle`.
#[allow(dead_code)] // not every test file refuses input
pub fn one_line_error(out: std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "'{needle}' not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Every file of a directory as (name, bytes), by name: model directories compared byte for
/// byte.
#[allow(dead_code)] // not every test file compares directories
pub fn dir_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Asserts that two [`dir_files`] listings hold the same names and bytes; `what` names the
/// comparison in the message.
#[allow(dead_code)] // not every test file compares directories
pub fn assert_same_files(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}");
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{what}: {name} differs");
    }
}
