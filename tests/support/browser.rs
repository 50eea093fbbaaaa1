//! A page as a person sees it: Debian's Chromium, headless, with no
//! network beyond the file it opens.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium, when it is installed (skips or, in CI, fails otherwise).
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() {
        let why = "Chromium is not installed (Debian's package `chromium`)";
        if std::env::var_os(super::REQUIRED).is_some() {
            panic!("{why}, and {} is set", super::REQUIRED);
        }
        eprintln!("SKIPPED: {why}");
    }
    found
}

fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut command = Command::new(chromium);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--allow-file-access-from-files",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// The page's DOM after Chromium loaded and laid it out.
pub fn dom(chromium: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = headless(chromium, profile.path())
        .arg("--dump-dom")
        .arg(url(page))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium --dump-dom: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A screenshot of the page, kept under target/test-artifacts/NAME.
pub fn screenshot(chromium: &Path, page: &Path, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join(name);
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let out = headless(chromium, profile.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1400,900")
        .arg(url(page))
        .output()
        .unwrap();
    assert!(
        out.status.success() && shot.is_file(),
        "chromium --screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    shot
}

fn url(page: &Path) -> String {
    format!("file://{}", page.canonicalize().unwrap().display())
}

/// The text of each `<tr class="student">` row in a dumped DOM, tags
/// dropped and white space folded.
pub fn student_rows(dom: &str) -> Vec<String> {
    dom.split("<tr class=\"student\">")
        .skip(1)
        .map(|row| {
            let row = row.split("</tr>").next().unwrap_or_default();
            let mut text = String::new();
            let mut in_tag = false;
            for c in row.chars() {
                match c {
                    '<' => {
                        in_tag = true;
                        text.push(' ');
                    }
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}
