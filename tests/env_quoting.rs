//! `lab env` for a native engine in a directory whose name has spaces,
//! quotes, `$` and backticks: each shell that runs the output gets the exact
//! path back, and nothing in it runs. On Windows (under Wine in
//! scripts/windows-check) the name has what Windows allows of those, and
//! `%`, `&` and `^` for cmd, whose `FOR /f` line really runs there.

mod support;

use std::path::Path;
use std::process::Command;

use support::{lab_binary, text};

#[cfg(unix)]
const HOSTILE: &str = "class 'a' \"b\" $(touch pwned) `touch pwned2` $HOME ";
// Windows refuses `"` (and `<>|*?:`) in a file name.
#[cfg(windows)]
const HOSTILE: &str = "class 'a' $(touch pwned) `touch pwned2` $HOME %PATH% & echo pwned ^ ";

/// A native lab as `lab up` leaves it for `lab env`: its engine's URL noted.
fn native_lab() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(HOSTILE).tempdir().unwrap();
    std::fs::write(
        dir.path().join("lab.toml"),
        "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n",
    )
    .unwrap();
    let engine = dir.path().join(".lab/certs/swarm-master");
    std::fs::create_dir_all(&engine).unwrap();
    std::fs::write(engine.join("url"), "tcp://10.0.0.2:2376\n").unwrap();
    dir
}

/// Runs `script` in `shell` inside the lab's directory; `$LAB` is lab.
#[cfg(unix)]
fn run(shell: &str, dir: &Path, script: &str) -> String {
    let out = Command::new(shell)
        .args(["-c", script])
        .current_dir(dir)
        .env("LAB", lab_binary())
        .env("LAB_REGISTRY", dir.join(".labs.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// What `lab env --shell SHELL swarm-master` prints in the lab's directory.
fn env_for(dir: &tempfile::TempDir, shell: &str) -> String {
    let out = Command::new(lab_binary())
        .args(["env", "--shell", shell, "swarm-master"])
        .current_dir(dir.path())
        .env("LAB_REGISTRY", dir.path().join(".labs.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn certs(dir: &Path) -> String {
    dir.join(".lab").join("certs").display().to_string()
}

#[cfg(unix)]
#[test]
fn bash_gets_the_exact_certificate_path() {
    let dir = native_lab();
    let got = run(
        "bash",
        dir.path(),
        r#"eval "$("$LAB" env --shell bash swarm-master)"; printf '%s|%s' "$DOCKER_CERT_PATH" "$DOCKER_HOST""#,
    );
    assert_eq!(got, format!("{}|tcp://10.0.0.2:2376", certs(dir.path())));
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
}

#[cfg(unix)]
#[test]
fn fish_gets_the_exact_certificate_path() {
    if !support::prerequisite("fish", &["--version"]) {
        return;
    }
    let dir = native_lab();
    let got = run(
        "fish",
        dir.path(),
        r#"eval ("$LAB" env --shell fish swarm-master); printf '%s|%s' "$DOCKER_CERT_PATH" "$DOCKER_HOST""#,
    );
    assert_eq!(got, format!("{}|tcp://10.0.0.2:2376", certs(dir.path())));
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
}

#[test]
fn powershell_lines_escape_what_powershell_expands() {
    // PowerShell is not in Debian's archive; its lines are checked as text:
    // inside "...", PowerShell expands $ and ` and ends at ", so each is
    // escaped with a backtick.
    let dir = native_lab();
    let text = env_for(&dir, "powershell");
    let line = text
        .lines()
        .find(|l| l.starts_with("$Env:DOCKER_CERT_PATH"))
        .unwrap();
    let expected = certs(dir.path())
        .replace('`', "``")
        .replace('"', "`\"")
        .replace('$', "`$");
    assert_eq!(line, format!("$Env:DOCKER_CERT_PATH = \"{expected}\""));
}

/// cmd's lines as text: Wine's cmd cannot run the `FOR /f ... DO @%i` hint
/// (it takes the whole line for a program's name), so what real cmd does
/// with it is checked here as text: quoted whole, the exact path, nothing
/// escaped (that loop runs a line without parsing it again).
#[test]
fn cmd_lines_carry_the_exact_path_quoted_whole() {
    let dir = native_lab();
    let text = env_for(&dir, "cmd");
    assert!(
        text.lines()
            .any(|l| l == format!("SET \"DOCKER_CERT_PATH={}\"", certs(dir.path()))),
        "{text}"
    );
    assert!(
        text.contains("SET \"DOCKER_HOST=tcp://10.0.0.2:2376\""),
        "{text}"
    );
    assert!(
        text.contains("@FOR /f \"tokens=*\" %i IN ('lab env --shell cmd swarm-master') DO @%i"),
        "{text}"
    );
}
