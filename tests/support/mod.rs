//! Helpers for tests that run the real `lab` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Under this variable (set by .ci/run), a missing prerequisite fails the
/// test instead of skipping it.
pub const REQUIRED: &str = "LAB_E2E_REQUIRED";

/// True when `program` answers; otherwise skips (prints why) or, in CI, fails.
pub fn prerequisite(program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why = format!("`{program} {}` did not succeed", args.join(" "));
        if std::env::var_os(REQUIRED).is_some() {
            panic!("{why}, and {REQUIRED} is set");
        }
        eprintln!("SKIPPED: {why}");
    }
    ok
}

pub fn lab_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lab"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs lab in `dir` with `env` and returns what it did.
pub fn run_lab(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(lab_binary());
    cmd.args(args).current_dir(dir).env_remove("LAB_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("lab runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
