//! Helpers for tests that run the real `lab` binary.
#![allow(dead_code)]

pub mod browser;
pub mod lab_dir;
pub mod native;

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

/// One lab of Vagrant's docker provider coming up at a time, per test
/// binary: two `vagrant up`s in separate directories started together were
/// seen taking the same forwarded SSH port ("Bind for 127.0.0.1:2204
/// failed: port is already allocated"), Vagrant choosing each one's port
/// before the other's container holds it.
pub fn one_lab_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `ready` every `every` until it holds, failing the test once
/// `limit` has passed; how long it took, for the test to print. The one
/// poll-until loop of the tests.
pub fn wait_for(
    what: &str,
    limit: std::time::Duration,
    every: std::time::Duration,
    mut ready: impl FnMut() -> bool,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(every);
    }
    started.elapsed()
}

/// Runs lab in `dir` with `env` and returns what it did.
pub fn run_lab(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    lab_command(dir, env, args).output().expect("lab runs")
}

/// lab in `dir` with `env`, to run or to start.
pub fn lab_command(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(lab_binary());
    // Each test's labs are recorded in its own list, not the host's.
    cmd.args(args)
        .current_dir(dir)
        .env_remove("LAB_FILE")
        .env_remove("LAB_TIMEOUT")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env("LAB_REGISTRY", dir.join(".labs.json"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// `docker ARGS` with the real client, in a bash (in `dir`, with `env`)
/// that ran `eval "$(lab env MACHINE)"` as a student would.
pub fn docker_after_env(dir: &Path, env: &[(&str, String)], machine: &str, args: &str) -> Output {
    let script = format!(
        "set -e; eval \"$({} env --shell bash {machine})\"; docker {args}",
        lab_binary().display()
    );
    Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("LAB_REGISTRY", dir.join(".labs.json"))
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap()
}

/// lab's environment with the stand-in docker-machine: `bin` first on PATH,
/// its store (`dm`) and its log of calls (`calls.log`) in `dir`.
pub fn standin_env(dir: &Path, bin: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ),
        ("MACHINE_STORAGE_PATH", dir.join("dm").display().to_string()),
        ("STANDIN_LOG", dir.join("calls.log").display().to_string()),
    ]
}

/// lab's environment with the stand-in docker-machine provisioning the
/// machines' real engines over SSH (`STANDIN_REAL_ENGINES=1`); docker,
/// vagrant and ssh stay the real ones. The stand-in is linked into
/// `dir/bin`, first on PATH.
#[cfg(unix)]
pub fn real_engine_standin_env(dir: &Path) -> Vec<(&'static str, String)> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        repo().join("tests/standin/docker-machine"),
        bin.join("docker-machine"),
    )
    .unwrap();
    let mut env = standin_env(dir, &bin);
    env.push(("STANDIN_REAL_ENGINES", "1".to_string()));
    env
}

/// A `lab verify` report in which every swarm check passed: nodes, the
/// overlay network, probes pinging across machines by address and by name.
pub fn assert_swarm_verified(report: &str) {
    for check in [
        "swarm nodes",
        "overlay network",
        "ping by IP",
        "ping by name",
    ] {
        assert!(
            report.contains(&format!("PASS  {check}")),
            "{check} missing:\n{report}"
        );
    }
    assert!(!report.contains("FAIL"), "{report}");
}

/// The machines a docker-machine store (`MACHINE_STORAGE_PATH`) holds, sorted.
pub fn stored_machines(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.join("machines"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Host containers of lab `name` (each named `NAME-MACHINE`).
pub fn containers_named(name: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            &format!("name={name}-"),
        ])
        .output()
        .unwrap();
    text(&out.stdout).lines().map(String::from).collect()
}

/// Whether Vagrant's docker network for `subnet` exists on the host.
pub fn network_exists(subnet: &str) -> bool {
    Command::new("docker")
        .args(["network", "inspect", &format!("vagrant_network_{subnet}")])
        .output()
        .unwrap()
        .status
        .success()
}

/// Removes what a failed test may have left: the lab's containers (with
/// their anonymous volumes) and its Vagrant network.
pub fn remove_leftovers(name: &str, subnet: &str) {
    for container in containers_named(name) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &container])
            .output();
    }
    let _ = Command::new("docker")
        .args(["network", "rm", &format!("vagrant_network_{subnet}")])
        .output();
}

/// The stdout of a lab run that must have succeeded; else its output, failed.
pub fn succeeded(out: &Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "lab {args:?} failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The names of the failed checks in a `verify --json` or `doctor --json` report.
pub fn failed_checks(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// A tag of a local image that a test made (`docker tag`), removed when the
/// test ends, even on failure: an image the test may take off the host
/// without touching one that others use.
pub struct ImageTag(pub String);

impl ImageTag {
    pub fn of(image: &str, tag: String) -> ImageTag {
        let out = Command::new("docker")
            .args(["tag", image, &tag])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker tag {image} {tag}: {}",
            text(&out.stderr)
        );
        ImageTag(tag)
    }

    /// Whether this host's engine has it.
    pub fn on_host(&self) -> bool {
        Command::new("docker")
            .args(["image", "inspect", &self.0])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Takes it off this host's engine (the image it tags stays).
    pub fn remove(&self) {
        let out = Command::new("docker")
            .args(["rmi", &self.0])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker rmi {}: {}",
            self.0,
            text(&out.stderr)
        );
    }
}

impl Drop for ImageTag {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", &self.0]).output();
    }
}

/// `lab -v status --json` in `dir` starts no `vagrant`, and each machine's
/// state in it is the one `vagrant status` of the lab's state directory
/// gives. Returns the status and how long lab and Vagrant took.
pub fn status_agrees_with_vagrant(
    dir: &Path,
    env: &[(&str, String)],
    state_dir: &Path,
) -> (serde_json::Value, f64, f64) {
    let started = std::time::Instant::now();
    let out = run_lab(dir, env, &["-v", "status", "--json"]);
    let lab_took = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("commands run: vagrant 0,"),
        "{}",
        text(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let started = std::time::Instant::now();
    let vagrant = Command::new("vagrant")
        .args(["status", "--machine-readable"])
        .env("VAGRANT_CWD", state_dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let vagrant_took = started.elapsed().as_secs_f64();
    for row in status["machines"].as_array().unwrap() {
        let line = format!(
            ",{},state,{}",
            row["machine"].as_str().unwrap(),
            row["vagrant"].as_str().unwrap()
        );
        assert!(
            text(&vagrant.stdout).contains(&line),
            "{line}: {}",
            text(&vagrant.stdout)
        );
    }
    (status, lab_took, vagrant_took)
}
