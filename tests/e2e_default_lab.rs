//! The shipped lab.toml as a student gets it, on real machines: only what
//! this host cannot have is swapped (Vagrant's docker provider and its
//! machine image for VirtualBox and bento's box, a subnet and name of the
//! test's own, a stand-in for Consul's process: no registry here). Both
//! engine paths run: docker-machine's generic driver registering each engine
//! (the default; the stand-in of tests/standin with STANDIN_REAL_ENGINES=1,
//! which provisions the real engines over SSH as the real one does) and
//! `engine = "native"`; the engines form Docker's swarm, Consul runs on its
//! machine, and the real `docker` client uses them.
// Unix hosts only: real machines on Vagrant's docker provider and the stand-ins (Python, sh) need a Unix host.
#![cfg(unix)]

mod support;

use support::lab_dir::LabDir;
use support::native::{MACHINE_IMAGE, PROBE_IMAGE};
use support::{prerequisite, repo, text};

/// `text` with `from` replaced, which must be there.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "lab.toml no longer has {from:?}");
    text.replace(from, to)
}

/// The shipped lab, with `engine` for its engine driver.
fn shipped_lab(engine: &str) -> LabDir {
    let pid = std::process::id();
    let name = format!("dfl{}{pid}", &engine[..1]);
    let third = if engine == "native" { 120 } else { 20 };
    let subnet = format!("10.233.{}.0/24", third + pid % 100);
    let shipped = std::fs::read_to_string(repo().join("lab.toml")).unwrap();
    let mut toml = swap(
        &shipped,
        "provider = \"virtualbox\"",
        "provider = \"docker\"",
    );
    toml = swap(
        &toml,
        "engine = \"docker-machine\"",
        &format!("engine = \"{engine}\""),
    );
    toml = swap(
        &toml,
        "box = \"bento-ubuntu-2404\"",
        "box = \"debian-systemd\"",
    );
    toml = swap(
        &toml,
        "# subnet = \"192.168.61.0/24\"",
        &format!("subnet = \"{subnet}\""),
    );
    // Consul's process: busybox's httpd on Consul's port, from an image
    // that only this host has (lab copies it to the consul machine).
    toml = swap(
        &toml,
        "image = \"hashicorp/consul\"",
        &format!("image = \"{PROBE_IMAGE}\""),
    );
    toml = swap(
            &toml,
            "args = [\"agent\", \"-server\", \"-ui\", \"-node=consul\", \"-bootstrap-expect=1\", \"-client=0.0.0.0\"]",
            "args = [\"httpd\", \"-f\", \"-p\", \"8500\"]",
        );
    toml = swap(
        &toml,
        "# [verify]\n# image = \"busybox:latest\"",
        &format!("[verify]\nimage = \"{PROBE_IMAGE}\""),
    );
    let lab = LabDir::new(".tmp").makes(name.clone(), subnet);
    lab.write("lab.toml", &format!("name = \"{name}\"\n{toml}"));
    let env = support::real_engine_standin_env(lab.path());
    lab.with_env(env)
}

impl LabDir {
    fn stored_machines(&self) -> Vec<String> {
        support::stored_machines(&self.path().join("dm"))
    }
}

fn prerequisites() -> bool {
    prerequisite("vagrant", &["--version"])
        && prerequisite("docker", &["info"])
        && prerequisite("docker", &["image", "inspect", MACHINE_IMAGE])
        && prerequisite("docker", &["image", "inspect", PROBE_IMAGE])
        && prerequisite("openssl", &["version"])
}

/// The first line of what `ip:port` answers to a GET, or nothing.
fn status_line(ip: &str, port: u16) -> String {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect((ip, port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let _ = write!(stream, "GET / HTTP/1.0\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn the_shipped_lab_on_docker_machines_path_forms_a_swarm_that_docker_uses() {
    if prerequisites() {
        the_shipped_lab("docker-machine");
    }
}

#[test]
fn the_shipped_lab_with_native_engines_forms_a_swarm_that_docker_uses() {
    if prerequisites() {
        the_shipped_lab("native");
    }
}

fn the_shipped_lab(engine: &str) {
    let _one = support::one_lab_at_a_time();
    let lab = shipped_lab(engine);

    let started = std::time::Instant::now();
    lab.ok(&["up"]);
    eprintln!(
        "DEFAULT LAB ({engine}): lab up took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if engine == "docker-machine" {
        registered_with_docker_machine(&lab);
    }

    // The student's way in: the master's engine is the swarm's API.
    let nodes = lab.docker_ok(
        "swarm-master",
        "node ls --format '{{.Hostname}} {{.Status}}'",
    );
    let mut nodes: Vec<&str> = nodes.lines().collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [
            "swarm-master Ready",
            "swarm-node01 Ready",
            "swarm-node02 Ready"
        ]
    );
    let info = lab.docker_ok("swarm-node01", "info --format '{{.Swarm.LocalNodeState}}'");
    assert_eq!(info.trim(), "active");

    // Consul's container on its machine, from an image only this host had,
    // answering on Consul's port.
    let running = lab.docker_ok("consul", "ps --format '{{.Names}} {{.Image}}'");
    assert_eq!(running.trim(), format!("consul {PROBE_IMAGE}"), "{running}");
    let status: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    let consul_ip = status["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["machine"] == "consul")
        .and_then(|m| m["ip"].as_str())
        .unwrap()
        .to_string();
    let answer = status_line(&consul_ip, 8500);
    assert!(
        answer.starts_with("HTTP/"),
        "{consul_ip}:8500 said {answer:?}"
    );

    // verify: nodes, the overlay network, pings across machines.
    let out = lab.lab(&["verify"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains("PASS  ping by name"), "{report}");

    // Again: nothing to do.
    let dry = lab.ok(&["up", "--dry-run"]);
    assert!(dry.starts_with("nothing to do"), "{dry}");

    // destroy: no machine, entry, network or state left.
    lab.ok(&["destroy"]);
    assert!(support::containers_named(&lab.name).is_empty());
    assert!(!support::network_exists(&lab.subnet));
    assert!(lab.stored_machines().is_empty());
    assert!(!lab.path().join(format!(".lab-{}", lab.name)).exists());
}

/// Each engine registered with docker-machine's generic driver, none with
/// the classic Swarm flags.
fn registered_with_docker_machine(lab: &LabDir) {
    let calls = std::fs::read_to_string(lab.path().join("calls.log")).unwrap();
    let creates: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("docker-machine create -d generic"))
        .collect();
    assert_eq!(creates.len(), 4, "{calls}");
    assert!(creates.iter().all(|c| !c.contains("--swarm")), "{calls}");
    assert_eq!(
        lab.stored_machines(),
        ["consul", "swarm-master", "swarm-node01", "swarm-node02"]
            .map(|m| format!("{}-{m}", lab.name))
    );
}
