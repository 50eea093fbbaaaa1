//! Faults on real machines (docker provider, native engines, swarm mode):
//! Ctrl-C in the middle of `lab up`, two `lab up` at once, a stale lock, a
//! machine halted and one deleted behind lab's back, a machine that hangs.
// Unix hosts only: real machines on Vagrant's docker provider need a Unix host, and the signals are Unix's.
#![cfg(unix)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::lab_dir::LabDir;
use support::{lab_binary, text};

fn spawn_lab(lab: &LabDir, args: &[&str]) -> Child {
    Command::new(lab_binary())
        .args(args)
        .current_dir(lab.path())
        .env_remove("LAB_FILE")
        .env("LAB_REGISTRY", lab.path().join(".labs.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls every 100 ms: these waits are for a process, not a machine.
fn wait_for(what: &str, limit: Duration, ready: impl FnMut() -> bool) {
    support::wait_for(what, limit, Duration::from_millis(100), ready);
}

/// Processes whose command line or environment mention `needle`: what lab,
/// Vagrant or their children would leave behind for this lab.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == std::process::id().to_string() {
            continue;
        }
        let read = |f: &str| std::fs::read(entry.path().join(f)).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
        let environ = String::from_utf8_lossy(&read("environ")).into_owned();
        if cmdline.contains(needle) || environ.contains(needle) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

fn vagrant(lab: &LabDir, args: &[&str]) {
    let out = Command::new("vagrant")
        .args(args)
        .env("VAGRANT_CWD", state_dir(lab))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vagrant {args:?}: {}",
        text(&out.stderr)
    );
}

fn state_dir(lab: &LabDir) -> std::path::PathBuf {
    lab.path().join(format!(".lab-{}", lab.name))
}

fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
}

fn machine_row(lab: &LabDir, machine: &str) -> serde_json::Value {
    let status: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    status["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["machine"] == machine)
        .unwrap()
        .clone()
}

#[test]
fn lab_holds_up_against_interrupts_races_and_machines_that_go_away() {
    if !support::native::prerequisites() {
        return;
    }
    let lab = support::native::lab("e2f", 233, 1);
    let state = state_dir(&lab);
    let needle = state.display().to_string();

    // Ctrl-C while Vagrant creates the machines: lab stops everything it
    // started, says so, exits 130.
    let mut up = spawn_lab(&lab, &["up"]);
    wait_for("vagrant to start creating", Duration::from_secs(60), || {
        !support::containers_named(&lab.name).is_empty()
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    wait_for("lab to stop", Duration::from_secs(60), || {
        up.try_wait().unwrap().is_some()
    });
    let out = up.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("interrupted"),
        "{}",
        text(&out.stderr)
    );
    let left = processes_mentioning(&needle);
    assert!(
        left.is_empty(),
        "orphans of the interrupted lab up: {left:#?}"
    );

    // The next `lab up` finishes the job; meanwhile a second one is refused.
    let first = spawn_lab(&lab, &["up"]);
    let pid = first.id().to_string();
    wait_for(
        "the first lab up to take the lock",
        Duration::from_secs(60),
        || std::fs::read_to_string(state.join("lock")).is_ok_and(|l| l.contains(&pid)),
    );
    let second = lab.lab(&["up"]);
    assert_eq!(second.status.code(), Some(7), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains(&format!("`lab up`, pid {pid}")),
        "{}",
        text(&second.stderr)
    );
    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the lab up after Ctrl-C failed:\n{}",
        text(&out.stderr)
    );
    lab.ok(&["verify"]);

    // A lock left by a process that died is no lock.
    std::fs::write(
        state.join("lock"),
        "`lab up`, pid 999999, since 0 (unix time)",
    )
    .unwrap();
    assert!(lab.ok(&["up", "--dry-run"]).starts_with("nothing to do"));
    lab.ok(&["up"]);

    // Halted behind lab's back: status says so, up brings it back.
    vagrant(&lab, &["halt", "swarm-node01"]);
    assert_eq!(machine_row(&lab, "swarm-node01")["vagrant"], "stopped");
    lab.ok(&["up"]);
    assert_eq!(machine_row(&lab, "swarm-node01")["vagrant"], "running");
    lab.ok(&["verify"]);

    // Deleted behind lab's back: the same, with a new machine in the swarm.
    docker(&["rm", "-f", "-v", &format!("{}-swarm-node01", lab.name)]);
    assert_eq!(machine_row(&lab, "swarm-node01")["vagrant"], "not_created");
    lab.ok(&["up"]);
    let report = lab.ok(&["verify"]);
    assert!(report.contains("PASS  swarm nodes"), "{report}");

    // SSH not up yet (sshd stopped, and the engine too, so that lab must
    // reach the machine over SSH; lab reads its state and address from
    // Vagrant's record and Docker): lab's ssh calls are tried again with
    // backoff, each attempt in the log, and `lab up` goes through.
    let container = format!("{}-swarm-node01", lab.name);
    docker(&[
        "exec",
        &container,
        "systemctl",
        "stop",
        "ssh.socket",
        "ssh.service",
        "docker.socket",
        "docker.service",
    ]);
    // sshd comes back once lab has met it down (its first failed attempt
    // is in the log), not after a fixed time that a slower or faster host
    // would turn into no outage at all.
    let restart = {
        let container = container.clone();
        let log = state.join("lab.log");
        let before = std::fs::read_to_string(&log).map_or(0, |t| t.len());
        std::thread::spawn(move || {
            wait_for(
                "lab's first SSH attempt to fail",
                Duration::from_secs(120),
                || {
                    std::fs::read_to_string(&log)
                        .unwrap_or_default()
                        .get(before..)
                        .is_some_and(|new| new.contains("attempt 1 of 4 failed"))
                },
            );
            docker(&["exec", &container, "systemctl", "start", "ssh.service"]);
        })
    };
    lab.ok(&["up"]);
    restart.join().unwrap();
    let log = std::fs::read_to_string(state.join("lab.log")).unwrap();
    assert!(
        log.contains("attempt 1 of 4 failed (SSH is not up yet)"),
        "no retry in the log"
    );

    // A machine that hangs (frozen: its kernel still takes the connection,
    // sshd never answers) costs the --timeout, not docker-machine's minutes.
    docker(&["pause", &container]);
    let started = Instant::now();
    let out = lab.lab(&["--timeout", "4", "status"]);
    let took = started.elapsed();
    docker(&["unpause", &container]);
    let table = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        table.contains("did not finish within 4s"),
        "the hanging machine's row says why:\n{table}"
    );
    assert!(took < Duration::from_secs(60), "status took {took:?}");

    assert!(!lab.path().join("pwned").exists() && !Path::new("pwned").exists());
    lab.ok(&["destroy"]);
    assert!(support::containers_named(&lab.name).is_empty());
    assert!(!Path::new(&state).exists());
}
