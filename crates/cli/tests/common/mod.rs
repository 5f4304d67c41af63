//! Helpers shared by the CLI's integration tests.

use assert_cmd::Command;

/// The `remedy` binary built for these tests.
pub fn remedy() -> Command {
    Command::cargo_bin("remedy").unwrap()
}

/// Runs the command, expecting success; returns stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
