//! Names the commit `lab` was built from, for `lab --version`: a binary
//! handed to a class says which code it is. `LAB_COMMIT` overrides (a
//! build from a source tarball has no git); otherwise `git`, and "unknown"
//! where neither answers.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LAB_COMMIT");
    // Not .git/index: git rewrites it on its own, and lab would be built again each time.
    for watched in [".git/HEAD", ".git/refs", ".git/packed-refs"] {
        if std::path::Path::new(watched).exists() {
            println!("cargo:rerun-if-changed={watched}");
        }
    }
    let commit = std::env::var("LAB_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LAB_COMMIT={}", commit.trim());
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
