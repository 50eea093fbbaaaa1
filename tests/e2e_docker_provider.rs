//! The seed's lab end to end on real Vagrant machines (docker provider, real
//! sshd in each), with the stand-in docker-machine of tests/standin, which
//! answers as the real one does and opens real SSH sessions with the key,
//! port and user lab gives it. The engines behind it are stand-ins too
//! (tests/standin/docker): real engines are the native driver's test.
// Unix hosts only: real machines on Vagrant's docker provider and the stand-ins (Python, sh) need a Unix host.
#![cfg(unix)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use support::lab_dir::LabDir;
use support::{prerequisite, repo, text};

const IMAGE: &str = "lab/debian-docker:bookworm";

/// A lab of the seed's shape with `nodes` nodes; `index` keeps the
/// names and subnets of tests running side by side apart.
fn seed_lab(index: u32, nodes: u32) -> LabDir {
    let pid = std::process::id();
    let name = format!("e2e{pid}-{index}");
    let subnet = format!("10.231.{}.0/24", 100 + (pid % 50) * 2 + index);
    let lab = LabDir::new(".tmp").makes(name.clone(), subnet.clone());
    lab.write(
        "lab.toml",
        &format!(
            "name = \"{name}\"\nprovider = \"docker\"\nbox = \"debian-docker\"\n[network]\nsubnet = \"{subnet}\"\n[swarm]\nnodes = {nodes}\n"
        ),
    );
    let mut env = support::standin_env(lab.path(), &repo().join("tests/standin"));
    env.push((
        "STANDIN_DOCKER_STATE",
        lab.path().join("engines").display().to_string(),
    ));
    lab.with_env(env)
}

impl LabDir {
    /// `lab destroy`, then no container, network, docker-machine entry or
    /// `.lab` state of the lab is left on the host.
    fn destroy_and_check_nothing_is_left(&self) {
        let out = self.lab(&["destroy"]);
        assert!(
            out.status.success(),
            "lab destroy failed:\n{}",
            text(&out.stderr)
        );
        assert!(
            self.leftover_containers().is_empty(),
            "{:?}",
            self.leftover_containers()
        );
        assert!(!self.network_exists());
        assert!(
            self.stored_machines().is_empty(),
            "{:?}",
            self.stored_machines()
        );
        assert!(!self.state_dir().exists());
    }

    /// The calls the stand-ins received since the last look, as argv.
    fn take_calls(&self) -> Vec<Vec<String>> {
        let path = self.path().join("calls.log");
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        log.lines()
            .map(|l| shell_words::split(l).unwrap())
            .collect()
    }

    /// The host-wide name of a machine: its container and its docker-machine entry.
    fn container(&self, machine: &str) -> String {
        format!("{}-{machine}", self.name)
    }

    /// `.lab-NAME`: a named lab's state directory.
    fn state_dir(&self) -> std::path::PathBuf {
        self.path().join(format!(".lab-{}", self.name))
    }

    /// The machine's address on the lab network, as Docker itself reports it.
    fn docker_ip(&self, machine: &str) -> String {
        let template = format!(
            "{{{{(index .NetworkSettings.Networks \"vagrant_network_{}\").IPAddress}}}}",
            self.subnet
        );
        let out = Command::new("docker")
            .args(["inspect", "-f", &template, &self.container(machine)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }

    fn leftover_containers(&self) -> Vec<String> {
        support::containers_named(&self.name)
    }

    fn network_exists(&self) -> bool {
        support::network_exists(&self.subnet)
    }

    fn stored_machines(&self) -> Vec<String> {
        support::stored_machines(&self.path().join("dm"))
    }
}

fn creates(calls: &[Vec<String>]) -> Vec<&Vec<String>> {
    calls
        .iter()
        .filter(|c| c[0] == "docker-machine" && c.get(1).map(String::as_str) == Some("create"))
        .collect()
}

fn expected_create(
    lab: &LabDir,
    machine: &str,
    ips: &BTreeMap<&str, String>,
    swarm: Option<bool>,
) -> Vec<String> {
    let key = lab
        .state_dir()
        .join(format!(".vagrant/machines/{machine}/docker/private_key"));
    let mut argv: Vec<String> = [
        "docker-machine",
        "create",
        "-d",
        "generic",
        "--generic-ip-address",
        &ips[machine],
        "--generic-ssh-key",
        &key.display().to_string(),
        "--generic-ssh-port",
        "22",
        "--generic-ssh-user",
        "vagrant",
    ]
    .map(String::from)
    .to_vec();
    if let Some(master) = swarm {
        let consul = format!("consul://{}:8500", ips["consul"]);
        argv.push("--swarm".into());
        if master {
            argv.push("--swarm-master".into());
        }
        argv.extend(["--swarm-discovery".into(), consul.clone()]);
        argv.extend(["--engine-opt".into(), format!("cluster-store={consul}")]);
        argv.extend(["--engine-opt".into(), "cluster-advertise=eth1:2376".into()]);
    }
    argv.push(lab.container(machine));
    argv
}

fn prerequisites() -> bool {
    prerequisite("vagrant", &["--version"])
        && prerequisite("docker", &["info"])
        && prerequisite("python3", &["--version"])
        && prerequisite("docker", &["image", "inspect", IMAGE])
}

/// Destroy after a lab up that stopped half-way: consul's create failed, so
/// consul is stored but unusable and the swarm machines were never registered.
#[test]
fn destroy_cleans_up_a_half_built_lab() {
    if !prerequisites() {
        return;
    }
    let _one = support::one_lab_at_a_time();
    let lab = seed_lab(1, 1);
    let out = lab.lab_with(("STANDIN_FAIL_CREATE", &lab.container("consul")), &["up"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("consul failed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        lab.stored_machines(),
        [lab.container("consul")],
        "the swarm stage never started"
    );
    assert_eq!(lab.leftover_containers().len(), 3);

    lab.destroy_and_check_nothing_is_left();
}

#[test]
fn the_seeds_lab_up_env_status_and_destroy_on_real_vagrant_machines() {
    if !prerequisites() {
        return;
    }
    let _one = support::one_lab_at_a_time();
    let lab = seed_lab(0, 2);
    let machines = ["consul", "swarm-master", "swarm-node01", "swarm-node02"];

    // lab up: machines, addresses, consul first, then the rest. One
    // machine after another, as VirtualBox brings them up: consul's
    // create does not wait for the last machine's boot.
    let out = lab.lab(&["up", "--no-parallel"]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "lab up failed:\n{said}");
    let line = |needle: &str| {
        said.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{said}"))
    };
    assert!(
        line("consul: docker-machine create") < line("swarm-node02: up"),
        "consul's create waited for the last boot:\n{said}"
    );
    // A fresh lab: Vagrant is not asked for machines it cannot have.
    let log = std::fs::read_to_string(lab.state_dir().join("lab.log")).unwrap();
    assert!(!log.contains("vagrant status"), "{log}");
    let ips: BTreeMap<&str, String> = machines.iter().map(|m| (*m, lab.docker_ip(m))).collect();
    let calls = lab.take_calls();
    let created = creates(&calls);
    assert_eq!(created.len(), 4, "{calls:#?}");
    assert_eq!(*created[0], expected_create(&lab, "consul", &ips, None));
    for (machine, swarm) in [
        ("swarm-master", Some(true)),
        ("swarm-node01", Some(false)),
        ("swarm-node02", Some(false)),
    ] {
        let want = expected_create(&lab, machine, &ips, swarm);
        assert!(
            created.iter().any(|c| **c == want),
            "no create {want:?} in {calls:#?}"
        );
    }
    // The stand-in logged in over SSH with exactly that key, port and user.
    for machine in machines {
        let stored = lab.path().join("dm/machines").join(lab.container(machine));
        let proof = std::fs::read_to_string(stored.join("ssh-proof")).unwrap();
        assert_eq!(proof.trim(), machine);
    }
    // The Consul container, on consul's engine, after consul's create and before the others'.
    let position = |pred: &dyn Fn(&Vec<String>) -> bool| calls.iter().position(pred).unwrap();
    let run = position(&|c: &Vec<String>| c[0] == "docker" && c.contains(&"run".to_string()));
    let consul_dir = lab.path().join("dm/machines").join(lab.container("consul"));
    let expected_run: Vec<String> = [
        "docker".to_string(),
        "--tlsverify".into(),
        format!("--tlscacert={}/ca.pem", consul_dir.display()),
        format!("--tlscert={}/cert.pem", consul_dir.display()),
        format!("--tlskey={}/key.pem", consul_dir.display()),
        format!("-H=tcp://{}:2376", ips["consul"]),
    ]
    .into_iter()
    .chain(
        [
            "run",
            "-d",
            "--name",
            "consul",
            "--restart",
            "always",
            "-p",
            "8500:8500",
            "-h",
            "consul",
            "progrium/consul",
            "-server",
            "-bootstrap",
        ]
        .map(String::from),
    )
    .collect();
    assert_eq!(calls[run], expected_run);
    let consul_create = position(&|c: &Vec<String>| {
        c.len() > 2 && c[1] == "create" && *c.last().unwrap() == lab.container("consul")
    });
    let first_swarm_create = position(&|c: &Vec<String>| {
        c.len() > 2 && c[1] == "create" && c.contains(&"--swarm".to_string())
    });
    assert!(
        consul_create < run && run < first_swarm_create,
        "order: {calls:#?}"
    );

    // Again: nothing is created twice.
    let out = lab.lab(&["up"]);
    assert!(
        out.status.success(),
        "second lab up failed:\n{}",
        text(&out.stderr)
    );
    let calls = lab.take_calls();
    assert!(
        creates(&calls).is_empty() && !calls.iter().any(|c| c.contains(&"run".to_string())),
        "{calls:#?}"
    );
    assert!(lab.ok(&["up", "--dry-run"]).contains("nothing to do"));

    // env: the swarm for the master, the engine otherwise.
    let env = lab.ok(&["env", "--shell", "bash", "swarm-master"]);
    assert!(
        env.contains(&format!(
            "export DOCKER_HOST=\"tcp://{}:3376\"\n",
            ips["swarm-master"]
        )),
        "{env}"
    );
    assert!(
        env.contains("# eval \"$(lab env --shell bash swarm-master)\""),
        "{env}"
    );
    let env = lab.ok(&["env", "--shell", "bash", "--no-swarm", "swarm-master"]);
    assert!(
        env.contains(&format!(
            "export DOCKER_HOST=\"tcp://{}:2376\"\n",
            ips["swarm-master"]
        )),
        "{env}"
    );
    let env = lab.ok(&["env", "--shell", "fish", "swarm-node01"]);
    assert!(
        env.contains(&format!(
            "set -gx DOCKER_HOST \"tcp://{}:2376\";\n",
            ips["swarm-node01"]
        )),
        "{env}"
    );

    // status: every machine running, at its address, registered.
    let status: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    let rows = status["machines"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let machine = row["machine"].as_str().unwrap();
        assert_eq!(row["vagrant"], "running", "{row}");
        assert_eq!(row["ip"], ips[machine].as_str(), "{row}");
        assert_eq!(row["engine"], "Running", "{row}");
        assert_eq!(row["url"], format!("tcp://{}:2376", ips[machine]).as_str());
    }
    let table = lab.ok(&["status"]);
    assert!(
        table.starts_with("MACHINE ") && table.lines().count() == 5,
        "{table}"
    );
    // status reads Vagrant's own record and asks Docker, starting no Ruby,
    // and says what Vagrant itself says.
    support::status_agrees_with_vagrant(lab.path(), &lab.env, &lab.state_dir());

    // A create that fails (stored, unprovisioned, as the real one leaves it)...
    let rm = Command::new("docker-machine")
        .args(["rm", "-y", &lab.container("swarm-node02")])
        .envs(lab.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(rm.status.success());
    lab.take_calls();
    let out = lab.lab_with(
        ("STANDIN_FAIL_CREATE", &lab.container("swarm-node02")),
        &["up"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("swarm-node02 failed"), "{err}");
    assert!(err.contains("docker-machine create -d generic"), "{err}");
    assert!(
        err.contains("command : sudo systemctl -f start docker"),
        "the command's own stderr: {err}"
    );
    assert!(lab
        .ok(&["status"])
        .contains("Unable to query docker version"));
    // ...is removed and redone by the next lab up, and nothing else is touched.
    lab.take_calls();
    let out = lab.lab(&["up"]);
    assert!(
        out.status.success(),
        "recovering lab up failed:\n{}",
        text(&out.stderr)
    );
    let calls = lab.take_calls();
    let changes: Vec<&Vec<String>> = calls
        .iter()
        .filter(|c| c[0] == "docker-machine" && matches!(c[1].as_str(), "rm" | "create"))
        .collect();
    assert_eq!(changes.len(), 2, "{calls:#?}");
    assert_eq!(
        *changes[0],
        ["docker-machine", "rm", "-y", &lab.container("swarm-node02")]
    );
    assert_eq!(
        *changes[1],
        expected_create(&lab, "swarm-node02", &ips, Some(false))
    );

    // destroy: nothing left, and a second destroy is fine.
    lab.destroy_and_check_nothing_is_left();
    let out = lab.lab(&["destroy"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
