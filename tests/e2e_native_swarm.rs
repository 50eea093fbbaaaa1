//! Real machines with real engines, end to end: Vagrant's docker provider
//! boots systemd machines with sshd and docker.io, `engine = "native"` puts
//! each engine on TLS with lab's own certificates, `mode = "swarm"` forms
//! the swarm, and the real `docker` client and `lab verify` use it. No
//! stand-in anywhere.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use support::{lab_binary, prerequisite, repo, run_lab, text};

const MACHINE_IMAGE: &str = "lab/debian-docker:bookworm";
const PROBE_IMAGE: &str = "lab/probe:busybox";

struct Lab {
    dir: tempfile::TempDir,
    name: String,
    subnet: String,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let pid = std::process::id();
        let name = format!("e2n{pid}");
        let subnet = format!("10.232.{}.0/24", 20 + pid % 200);
        std::fs::write(
            dir.path().join("lab.toml"),
            format!(
                "name = \"{name}\"\nprovider = \"docker\"\nbox = \"debian-systemd\"\nengine = \"native\"\nmode = \"swarm\"\n\
                 [network]\nsubnet = \"{subnet}\"\n[consul]\nenabled = false\n[swarm]\nnodes = 2\n[verify]\nimage = \"{PROBE_IMAGE}\"\n"
            ),
        )
        .unwrap();
        Lab { dir, name, subnet }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn lab(&self, args: &[&str]) -> Output {
        run_lab(self.path(), &[], args)
    }

    fn ok(&self, args: &[&str]) -> String {
        support::succeeded(&self.lab(args), args)
    }

    /// `docker ARGS` with the real client, in a bash that ran
    /// `eval "$(lab env MACHINE)"` as a student would.
    fn docker_on(&self, machine: &str, args: &str) -> Output {
        let script = format!(
            "set -e; eval \"$({} env --shell bash {machine})\"; docker {args}",
            lab_binary().display()
        );
        Command::new("bash")
            .args(["-c", &script])
            .current_dir(self.path())
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap()
    }

    fn docker_ok(&self, machine: &str, args: &str) -> String {
        let out = self.docker_on(machine, args);
        assert!(
            out.status.success(),
            "docker {args} on {machine}:\n{}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `docker node ls` on the master as (hostname, status) pairs.
    fn nodes(&self) -> Vec<(String, String)> {
        self.docker_ok(
            "swarm-master",
            "node ls --format '{{.Hostname}} {{.Status}}'",
        )
        .lines()
        .map(|l| {
            let (h, s) = l.split_once(' ').unwrap();
            (h.to_string(), s.to_string())
        })
        .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.lab(&["destroy", "-q"]);
        support::remove_leftovers(&self.name, &self.subnet);
    }
}

fn volumes() -> BTreeSet<String> {
    let out = Command::new("docker")
        .args(["volume", "ls", "-q"])
        .output()
        .unwrap();
    text(&out.stdout).lines().map(String::from).collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn all_ready(nodes: &[(String, String)]) -> bool {
    let mut names: Vec<&str> = nodes.iter().map(|(h, _)| h.as_str()).collect();
    names.sort();
    names == ["swarm-master", "swarm-node01", "swarm-node02"]
        && nodes.iter().all(|(_, s)| s == "Ready")
}

#[test]
fn native_engines_form_a_swarm_that_docker_and_verify_use() {
    let ready = prerequisite("vagrant", &["--version"])
        && prerequisite("docker", &["info"])
        && prerequisite("docker", &["image", "inspect", MACHINE_IMAGE])
        && prerequisite(
            "bash",
            &[repo()
                .join("boxes/docker/build-probe-image.sh")
                .to_str()
                .unwrap()],
        );
    if !ready {
        return;
    }
    let volumes_before = volumes();
    let lab = Lab::new();

    lab.ok(&["up"]);
    let nodes = lab.nodes();
    assert!(all_ready(&nodes), "{nodes:?}");

    // The engines speak TLS with lab's CA only: without the client
    // certificate the master refuses.
    let env = lab.ok(&["env", "--shell", "bash", "swarm-master"]);
    let host = env
        .lines()
        .find_map(|l| l.strip_prefix("export DOCKER_HOST=\""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let bare = Command::new("docker")
        .args(["-H", &host, "--tls", "info"])
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_TLS_VERIFY")
        .output()
        .unwrap();
    assert!(
        !bare.status.success(),
        "an engine answered without a client certificate"
    );
    let state = lab.path().join(format!(".lab-{}", lab.name));
    let certs = state.join("certs");
    assert_eq!(mode(&certs.join("ca-key.pem")), 0o600);
    assert_eq!(mode(&certs.join("key.pem")), 0o600);
    assert_eq!(mode(&certs.join("swarm-node01/server-key.pem")), 0o600);
    // fish gets the same three variables in its own syntax.
    let fish = lab.ok(&["env", "--shell", "fish", "swarm-node01"]);
    assert!(fish.contains("set -gx DOCKER_TLS_VERIFY \"1\";"), "{fish}");
    assert!(fish.contains("set -gx DOCKER_CERT_PATH"), "{fish}");

    // A second `lab up` finds everything in place.
    let dry = lab.ok(&["up", "--dry-run"]);
    assert!(dry.starts_with("nothing to do"), "{dry}");

    // A node that left is joined again, and its old entry is removed.
    lab.docker_ok("swarm-node02", "swarm leave");
    lab.ok(&["up"]);
    let nodes = lab.nodes();
    assert!(all_ready(&nodes), "{nodes:?}");

    // verify: every check passes, and it leaves no probe behind.
    let out = lab.lab(&["verify"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
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
    for node in ["swarm-node01", "swarm-node02"] {
        let left = lab.docker_ok(node, "ps -a --format '{{.Names}}'");
        assert!(left.trim().is_empty(), "probes left on {node}: {left}");
    }

    // A missing overlay network fails verify with exit 5; `lab up` makes it again.
    lab.docker_ok("swarm-master", "network rm lab-overlay");
    let out = lab.lab(&["verify", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    let failed: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["overlay network", "probes"]);
    lab.ok(&["up"]);
    lab.ok(&["verify"]);

    // destroy: no container, network, volume, certificate or state left.
    lab.ok(&["destroy"]);
    assert!(support::containers_named(&lab.name).is_empty());
    assert!(!support::network_exists(&lab.subnet));
    assert!(!state.exists());
    let new_volumes: Vec<String> = volumes().difference(&volumes_before).cloned().collect();
    assert!(new_volumes.is_empty(), "volumes left: {new_volumes:?}");
}
