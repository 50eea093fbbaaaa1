//! The binary on its own: no Vagrant, docker-machine or Docker needed.

mod support;

use std::path::Path;

use support::{repo, run_lab, text};

fn empty_path(dir: &Path) -> Vec<(&'static str, String)> {
    let bin = dir.join("empty-bin");
    std::fs::create_dir_all(&bin).unwrap();
    vec![("PATH", bin.display().to_string())]
}

fn lab_dir(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.toml"), toml).unwrap();
    dir
}

#[test]
fn render_prints_the_default_labs_vagrantfile() {
    let dir = lab_dir(&std::fs::read_to_string(repo().join("lab.toml")).unwrap());
    let out = run_lab(dir.path(), &[], &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vagrantfile = text(&out.stdout);
    for name in ["consul", "swarm-master", "swarm-node01", "swarm-node02"] {
        assert!(
            vagrantfile.contains(&format!("config.vm.define '{name}'")),
            "{name} missing:\n{vagrantfile}"
        );
    }
    assert!(vagrantfile.contains("'bento/ubuntu-24.04'"));
    assert!(vagrantfile.contains("ip: '192.168.61.1', netmask: '255.255.255.0'"));
}

#[test]
fn the_default_plan_registers_each_engine_runs_consul_and_forms_a_swarm() {
    let dir = lab_dir(&std::fs::read_to_string(repo().join("lab.toml")).unwrap());
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["up", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    let steps: Vec<&str> = plan
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(
        steps[0].contains("vagrant up --provider=virtualbox"),
        "{plan}"
    );
    let creates = steps
        .iter()
        .filter(|l| l.contains("docker-machine create -d generic"))
        .count();
    assert_eq!(creates, 4, "{plan}");
    assert!(
        steps
            .iter()
            .all(|l| !l.contains("--swarm") && !l.contains("cluster-store")),
        "{plan}"
    );
    assert!(
        plan.contains(
            "hashicorp/consul agent -server -ui -node=consul -bootstrap-expect=1 -client=0.0.0.0"
        ),
        "{plan}"
    );
    assert!(plan.contains("swarm init --advertise-addr"), "{plan}");
    assert_eq!(
        plan.matches("swarm join-token -q worker | ssh").count(),
        2,
        "{plan}"
    );
}

#[test]
fn dry_run_without_any_tool_prints_the_whole_plan_and_writes_nothing() {
    let dir =
        lab_dir(&std::fs::read_to_string(repo().join("examples/seed-2015/lab.toml")).unwrap());
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["up", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    let lines: Vec<&str> = plan
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert_eq!(
        lines.len(),
        10,
        "vagrant up, 4 creates, Docker on the 3 others, Consul's image and container:\n{plan}"
    );
    assert!(lines[0].contains("vagrant up --provider=virtualbox"));
    assert!(
        lines[1].contains("docker-machine create -d generic --engine-install-url https://releases.rancher.com/install-docker/20.10.sh")
            && lines[1].ends_with(" consul")
    );
    // Docker on the Swarm machines while Consul comes up.
    for (line, machine) in lines[2..5]
        .iter()
        .zip(["swarm-master", "swarm-node01", "swarm-node02"])
    {
        assert!(
            line.contains(&format!(" {machine} ")) && line.contains("curl -fsSL"),
            "{line}"
        );
    }
    assert!(lines[5]
        .contains("docker save progrium/consul | docker $(docker-machine config consul) load"));
    assert!(lines[6].contains("docker $(docker-machine config consul) run -d --name consul"));
    assert!(lines[6].ends_with("progrium/consul -server -bootstrap"));
    assert!(lines[7].contains(
        "--swarm --swarm-master --swarm-discovery 'consul://<consul enp0s8 address>:8500'"
    ));
    assert!(text(&out.stderr).contains("vagrant is not installed"));
    assert!(
        !dir.path().join(".lab").exists(),
        "a dry run writes nothing"
    );
}

#[test]
fn dry_run_json_is_parseable() {
    let dir = lab_dir("box = \"x/y\"\n[swarm]\nnodes = 1\n");
    let out = run_lab(
        dir.path(),
        &empty_path(dir.path()),
        &["up", "--dry-run", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 8);
    assert_eq!(steps[1]["machine"], "consul");
    assert_eq!(steps[1]["action"]["command"]["tool"], "docker-machine");
}

#[test]
fn a_mistyped_key_is_reported_with_line_and_column_and_exit_3() {
    let dir = lab_dir("box = \"x/y\"\n\n[swarm]\nnodez = 3\n");
    let out = run_lab(dir.path(), &[], &["up"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("lab.toml:4:1: unknown field `nodez`"), "{err}");
}

#[test]
fn a_missing_lab_toml_is_exit_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_lab(dir.path(), &[], &["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("--file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn missing_programs_are_named_up_front_with_exit_4() {
    let dir = lab_dir("box = \"x/y\"\n");
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["up"]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    for tool in ["vagrant", "docker-machine", "docker", "ssh"] {
        assert!(
            err.contains(&format!("\n  {tool}: install")),
            "{tool} not named:\n{err}"
        );
    }
    assert!(
        !dir.path().join(".lab").exists(),
        "nothing is started when a program is missing"
    );
}

#[test]
fn env_of_an_unknown_machine_is_a_usage_error() {
    let dir = lab_dir("box = \"x/y\"\n");
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["env", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr)
        .contains("its machines are: consul, swarm-master, swarm-node01, swarm-node02"));
}

#[test]
fn env_unset_needs_no_machine_and_no_tool() {
    let dir = lab_dir("box = \"x/y\"\n");
    let out = run_lab(
        dir.path(),
        &empty_path(dir.path()),
        &["env", "--unset", "--shell", "bash"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n# Run this command to configure your shell:\n# eval \"$(lab env --shell bash --unset)\"\n"
    );
}

#[test]
fn help_documents_exit_codes() {
    let out = run_lab(&repo(), &[], &["--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("4  a required program"),
        "{help}"
    );
}

/// The copies in tests/fixtures are the shared contract's bytes.
#[test]
fn fixtures_match_the_shared_contract() {
    let contract = repo().join("../shared/contract");
    if !contract.exists() {
        eprintln!("SKIPPED: no ../shared/contract beside the repository");
        return;
    }
    for tool in ["vagrant", "docker-machine"] {
        let ours = repo().join("tests/fixtures").join(tool);
        for entry in std::fs::read_dir(&ours).unwrap() {
            let path = entry.unwrap().path();
            let theirs = contract
                .join(tool)
                .join("raw")
                .join(path.file_name().unwrap());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(&theirs).unwrap(),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn native_swarm_dry_run_needs_no_docker_machine() {
    let dir = lab_dir(
        "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[consul]\nenabled = false\n[swarm]\nnodes = 1\n",
    );
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["up", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.contains("make the lab's CA and client certificate"),
        "{plan}"
    );
    assert!(plan.contains("/etc/docker/server-key.pem 0600"), "{plan}");
    assert!(plan.contains("swarm init --advertise-addr"), "{plan}");
    assert!(
        plan.contains("network create --driver overlay --attachable lab-overlay"),
        "{plan}"
    );
    assert!(!plan.contains("docker-machine"), "{plan}");
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("docker-machine is not installed"),
        "{stderr}"
    );
    assert!(
        !dir.path().join(".lab").exists(),
        "a dry run writes nothing"
    );
}

#[test]
fn env_of_a_native_engine_before_up_says_what_to_do() {
    let dir = lab_dir("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n");
    let out = run_lab(
        dir.path(),
        &empty_path(dir.path()),
        &["env", "swarm-master"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("swarm-master has no engine set up by lab yet"),
        "{err}"
    );
    assert!(err.contains("run `lab up`"), "{err}");
}

#[test]
fn native_engines_with_classic_mode_are_refused_before_anything_runs() {
    let dir = lab_dir("box = \"x/y\"\nengine = \"native\"\n");
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["up"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("lab.toml:2:10"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn completions_need_no_lab_toml() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run_lab(dir.path(), &[], &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(
            script.contains("verify") && script.contains("doctor"),
            "{shell}:\n{script}"
        );
    }
}

#[test]
fn doctor_names_what_is_missing_and_exits_6_as_json_too() {
    let dir = lab_dir("provider = \"docker\"\nbox = \"debian-docker\"\n");
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    let failed = support::failed_checks(&report);
    assert!(
        failed.iter().any(|f| f == "vagrant") && failed.iter().any(|f| f == "docker-machine"),
        "{failed:?}"
    );
    let warned = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "engine and mode")
        .unwrap();
    assert_eq!(
        warned["warning"], true,
        "classic mode on an engine without cluster-store"
    );
}

#[test]
fn up_stops_before_anything_when_a_program_is_missing() {
    let dir = lab_dir("provider = \"docker\"\nbox = \"debian-docker\"\n");
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["up"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(!dir.path().join(".lab").exists(), "nothing was written");
}

/// Runs lab with stdout (or stderr) on a pipe whose reader is gone, as
/// `lab ... | head -1` leaves it once head has its line.
#[cfg(unix)]
fn with_closed_pipe(
    dir: &Path,
    env: &[(&str, String)],
    args: &[&str],
    stderr_too: bool,
) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = std::process::Command::new(support::lab_binary());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("LAB_FILE")
        .env("LAB_REGISTRY", dir.join(".labs.json"))
        .stdout(writer.try_clone().unwrap());
    if stderr_too {
        cmd.stderr(writer);
    } else {
        cmd.stderr(std::process::Stdio::piped());
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Issue 20: `lab completions bash | head -1`, `lab up --dry-run | head -1`
/// and `lab up 2>&1 | head -2` panicked ("failed printing to stdout") or
/// ended silently with exit 1.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_quietly_and_the_command_as_it_would() {
    let dir = lab_dir(&std::fs::read_to_string(repo().join("lab.toml")).unwrap());
    let path = empty_path(dir.path());
    for args in [
        &["completions", "bash"][..],
        &["up", "--dry-run"],
        &["up", "--dry-run", "--json"],
        &["render"],
        &["env", "--unset"],
    ] {
        let out = with_closed_pipe(dir.path(), &path, args, false);
        assert_eq!(
            out.status.code(),
            Some(0),
            "lab {args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "lab {args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("error"),
            "lab {args:?}: {}",
            text(&out.stderr)
        );
    }
    // Both streams closed: nothing can be said, and nothing panics; the
    // exit code is still the command's (4: the programs are missing).
    let out = with_closed_pipe(dir.path(), &path, &["up"], true);
    assert_eq!(out.status.code(), Some(4));
    let out = with_closed_pipe(dir.path(), &path, &["up", "--dry-run"], true);
    assert_eq!(out.status.code(), Some(0));
}

/// A full disk is an error that names stdout, not a panic.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_an_error_naming_stdout() {
    let dir = lab_dir(&std::fs::read_to_string(repo().join("lab.toml")).unwrap());
    for args in [&["render"][..], &["completions", "bash"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(support::lab_binary())
            .args(args)
            .current_dir(dir.path())
            .env("LAB_REGISTRY", dir.path().join(".labs.json"))
            .stdout(full)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains("could not write the output to stdout: No space left on device"),
            "{err}"
        );
    }
}

/// Issue 20: `lab deploy` on a lab never built made its state directory.
#[test]
fn deploy_to_a_lab_never_built_says_so_and_writes_nothing() {
    let dir = lab_dir("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n");
    let stack = dir.path().join("web");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("stack.yml"),
        "services:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["deploy", "web"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not built"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join(".lab").exists());
}

/// An exercise with a mistake is refused at its line and column (exit 3)
/// before anything is asked of a lab; a lab never built is said to be so.
#[test]
fn check_refuses_a_bad_exercise_at_its_line_and_an_unbuilt_lab() {
    let dir = lab_dir("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n");
    std::fs::write(
        dir.path().join("bad.toml"),
        "title = \"t\"\n[[check]]\nname = \"a\"\nservice = \"db\"\nrunning = 1\nstatus = 200\n",
    )
    .unwrap();
    let out = run_lab(dir.path(), &empty_path(dir.path()), &["check", "bad.toml"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("bad.toml:6:10: `status` belongs to an `http` check"),
        "{}",
        text(&out.stderr)
    );
    let exercise = repo().join("examples/redmine/exercise.toml");
    let out = run_lab(
        dir.path(),
        &empty_path(dir.path()),
        &["check", &exercise.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not built"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join(".lab").exists());
}

/// Fault drills check every name and number before they look at a machine,
/// and never make the state of a lab that was never built.
#[test]
fn a_fault_drill_names_its_mistake_before_it_touches_anything() {
    let dir = lab_dir("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n");
    let none = empty_path(dir.path());
    for (args, code, said) in [
        (&["fault", "stop", "swarm-node09"][..], 2, "swarm-node09"),
        (
            &["fault", "cut", "swarm-node01", "swarm-node01"],
            1,
            "cannot be cut off from itself",
        ),
        (
            &[
                "fault",
                "net",
                "swarm-node01",
                "--delay",
                "10",
                "--loss",
                "150",
            ],
            2,
            "not between 0 and 100",
        ),
        (&["fault", "net", "swarm-node01"], 2, "--delay"),
        (&["fault", "stop", "swarm-node01"], 1, "is not built"),
        (&["fault", "clear"], 1, "is not built"),
    ] {
        let out = run_lab(dir.path(), &none, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(said),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run_lab(dir.path(), &none, &["fault", "list"]);
    assert_eq!(text(&out.stdout), "no fault in place\n");
    assert!(!dir.path().join(".lab").exists());
}

/// Vagrant's docker provider has no snapshots: exit 8, said before anything
/// is looked at or made; a bad name is refused whatever the provider.
#[test]
fn snapshots_on_the_docker_provider_are_refused_with_exit_8() {
    let dir = lab_dir("provider = \"docker\"\nbox = \"debian-docker\"\n[swarm]\nnodes = 1\n");
    let none = empty_path(dir.path());
    for args in [
        &["snapshot", "save", "ex3"][..],
        &["snapshot", "restore", "ex3"],
        &["reset"],
    ] {
        let out = run_lab(dir.path(), &none, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(8), "{args:?}: {err}");
        assert!(
            err.contains("provider = \"docker\"") && err.contains("nothing was changed"),
            "{err}"
        );
    }
    let out = run_lab(dir.path(), &none, &["snapshot", "save", "../x"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a snapshot name"));
    let out = run_lab(dir.path(), &none, &["snapshot", "list"]);
    assert_eq!(text(&out.stdout), "no snapshot of the lab\n");
    assert!(!dir.path().join(".lab").exists());
}

/// A binary handed to a class says which code it is.
#[test]
fn version_names_the_commit_it_was_built_from() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_lab(dir.path(), &[], &["--version"]);
    assert!(out.status.success());
    let built_from = env!("LAB_COMMIT");
    assert_eq!(
        text(&out.stdout).trim(),
        format!("lab {} (commit {built_from})", env!("CARGO_PKG_VERSION"))
    );
    // Where git answers (not under Wine), that is this checkout's commit.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo())
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(head) = head {
        assert_eq!(built_from, text(&head.stdout).trim());
    }
}

#[test]
fn a_pack_for_another_architecture_is_refused_with_the_reason_and_nothing_written() {
    let dir = lab_dir(&std::fs::read_to_string(repo().join("lab.toml")).unwrap());
    let other = if std::env::consts::ARCH == "aarch64" {
        "amd64"
    } else {
        "arm64"
    };
    let usb = dir.path().join("usb");
    let out = run_lab(
        dir.path(),
        &empty_path(dir.path()),
        &["pack", &usb.display().to_string(), "--arch", other],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("--arch {other}: this host is")),
        "{err}"
    );
    assert!(err.contains("images of this host's engine"), "{err}");
    assert!(
        err.contains(&format!("run `lab pack` on a {other} machine")),
        "{err}"
    );
    assert!(!usb.exists());
}

/// `lab graph` of a lab never built: every machine is drawn, as not
/// created, in each format, and no program is run to draw it.
#[cfg(unix)]
#[test]
fn graph_of_a_lab_never_built_draws_every_machine_and_runs_nothing() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = lab_dir(
        "name = \"g\"\nprovider = \"docker\"\nbox = \"debian-systemd\"\nengine = \"native\"\nmode = \"swarm\"\n\
         [network]\nsubnet = \"10.250.3.0/24\"\n[consul]\nenabled = false\n[swarm]\nnodes = 2\n",
    );
    // Programs that would say so if they were run.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.path().join("calls");
    for tool in ["vagrant", "docker", "ssh"] {
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$0 $*\" >> '{}'\nexit 97\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let env = [("PATH", bin.display().to_string())];

    let out = run_lab(dir.path(), &env, &["graph", "--format", "dot"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dot = text(&out.stdout);
    assert!(dot.starts_with("graph \"lab g\" {"), "{dot}");
    for m in ["swarm-master", "swarm-node01", "swarm-node02"] {
        assert!(dot.contains(&format!("\"machine:{m}\"")), "{m}:\n{dot}");
    }
    assert!(dot.contains("private network\\n10.250.3.0/24"), "{dot}");
    assert!(dot.contains("vagrant not_created"), "{dot}");

    let out = run_lab(dir.path(), &env, &["graph", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "lab.graph/1");
    assert_eq!(json["machines"].as_array().unwrap().len(), 3);
    assert_eq!(json["machines"][0]["vagrant"], "not_created");

    let mermaid = run_lab(dir.path(), &env, &["graph", "--format", "mermaid"]);
    assert!(text(&mermaid.stdout).starts_with("flowchart TB\n"));

    // The page goes to the lab's folder; its path is what stdout says.
    let out = run_lab(dir.path(), &env, &["graph"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = dir.path().join(".lab-g/graph.html");
    assert_eq!(text(&out.stdout).trim(), page.display().to_string());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("data-machine=\"swarm-node02\""), "{html}");

    // --watch needs a file to rewrite; a missing folder is named.
    let out = run_lab(dir.path(), &env, &["graph", "--watch", "-o", "-"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--watch rewrites a file"));
    let out = run_lab(dir.path(), &env, &["graph", "-o", "nowhere/g.html"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the folder nowhere does not exist"));

    assert!(
        !calls.exists(),
        "{}",
        std::fs::read_to_string(&calls).unwrap()
    );
}

/// The exit codes `lab --help` lists, those docs/commands.md lists and
/// the constants lab exits with are the same codes.
#[test]
fn exit_codes_agree_in_help_docs_and_the_code() {
    use lab::error::*;
    let mut code: Vec<u8> = vec![
        0,
        FAILED,
        USAGE,
        CONFIG,
        MISSING_TOOL,
        VERIFY_FAILED,
        DOCTOR_FAILED,
        BUSY,
        UNSUPPORTED,
        CORRUPT,
        128 + 1,
        INTERRUPTED,
        128 + 15,
    ];
    code.sort();
    let numbers = |text: &str| -> Vec<u8> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u8>().ok())
            .collect()
    };
    let mut help: Vec<u8> = lab::cli::EXIT_CODES
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("  ") && l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .flat_map(|l| {
            let codes = l
                .trim_start()
                .split("  ")
                .next()
                .unwrap_or_default()
                .to_string();
            numbers(&codes)
        })
        .collect();
    // "129  stopped by SIGHUP ..., 130 by Ctrl-C, 143 by SIGTERM"
    if let Some(l) = lab::cli::EXIT_CODES.lines().find(|l| l.contains("SIGHUP")) {
        let signals: Vec<u8> = numbers(l).into_iter().filter(|n| *n > 128).collect();
        help.extend(signals);
    }
    help.sort();
    help.dedup();
    assert_eq!(help, code, "lab --help:\n{}", lab::cli::EXIT_CODES);

    let docs = std::fs::read_to_string(repo().join("docs/commands.md")).unwrap();
    let table = &docs[docs.find("## Exit codes").unwrap()..];
    let mut listed: Vec<u8> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| code") && !l.starts_with("| ---"))
        .flat_map(|l| numbers(l.split('|').nth(1).unwrap_or_default()))
        .collect();
    listed.sort();
    assert_eq!(listed, code, "docs/commands.md:\n{table}");
}
