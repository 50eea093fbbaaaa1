//! lab on a real machine, beside other docker-machine VMs, containers and
//! labs: it never removes or reuses what it did not make, keeps going
//! when the host's list of labs is broken, stops its children on SIGTERM
//! and SIGHUP, and refuses input that could run code.
//!
//! Each test runs the real binary with stand-ins on a PATH it builds
//! itself: `vagrant`, `docker` and `ssh` scripts that answer with the
//! recorded transcripts (tests/fixtures, copies of ../shared/contract) and
//! log their calls, and tests/standin/docker-machine.
// Unix hosts only: the stand-ins are sh and Python scripts, and the signals are Unix's.
#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::lab_dir::LabDir;
use support::{repo, text};

const VAGRANT: &str = r#"#!/bin/sh
# vagrant stand-in: logs each call with the Vagrantfile it would read.
log="$SANDBOX/calls.log"
vf="${VAGRANT_CWD:-.}/Vagrantfile"
if [ -f "$vf" ]; then have=yes; cp "$vf" "$SANDBOX/vagrantfile.seen"; else have=no; fi
echo "vagrant $* [cwd=${VAGRANT_CWD:-} vagrantfile=$have]" >> "$log"
case "$1" in
  status) cat "$SANDBOX/status.stdout"; exit 0 ;;
  box) exit 0 ;;
  ssh-config)
    # Each machine asked for, from $SANDBOX/ssh-config.stdout (Vagrant's blocks).
    [ -f "$SANDBOX/ssh-config.stdout" ] || { echo "vagrant stand-in: no transcript for: $*" >&2; exit 1; }
    shift
    for m in "$@"; do
      awk -v m="$m" '/^Host /{on=($2==m)} on' "$SANDBOX/ssh-config.stdout"
    done
    exit 0 ;;
  up)
    if [ -f "$SANDBOX/up-fails" ]; then
      echo "There was an error while executing \`VBoxManage\`, a CLI used by Vagrant" >&2; exit 1
    fi
    echo $$ > "$SANDBOX/vagrant-up.pid"; exec sleep 300 ;;
  destroy|halt) exit 0 ;;
esac
echo "vagrant stand-in: no transcript for: $*" >&2
exit 1
"#;

const DOCKER: &str = r#"#!/bin/sh
echo "docker $*" >> "$SANDBOX/calls.log"
case "$1" in
  ps) cat "$SANDBOX/ps.stdout" 2>/dev/null; exit 0 ;;
  image) exit 0 ;;
esac
echo "docker stand-in: no transcript for: $*" >&2
exit 1
"#;

const VBOXMANAGE: &str = r#"#!/bin/sh
echo "VBoxManage $*" >> "$SANDBOX/calls.log"
case "$1 $2" in
  "list vms") cat "$SANDBOX/vms.txt" 2>/dev/null; exit 0 ;;
  "list hostonlyifs"|"list hostonlynets") exit 0 ;;
esac
echo "VBoxManage stand-in: no transcript for: $*" >&2
exit 1
"#;

const SSH: &str = r#"#!/bin/sh
echo "ssh $*" >> "$SANDBOX/calls.log"
echo "ssh stand-in: not expected here" >&2
exit 255
"#;

/// A lab directory with its own stand-ins (first on a PATH of their
/// own), logs, docker-machine store and list of labs; it makes nothing real.
fn sandbox(lab_toml: &str) -> LabDir {
    let dir = LabDir::new(".tmp");
    let path = dir.path().to_path_buf();
    let bin = path.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, script) in [
        ("vagrant", VAGRANT),
        ("docker", DOCKER),
        ("ssh", SSH),
        ("VBoxManage", VBOXMANAGE),
    ] {
        let file = bin.join(name);
        std::fs::write(&file, script).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::symlink(
        repo().join("tests/standin/docker-machine"),
        bin.join("docker-machine"),
    )
    .unwrap();
    let shown = |p: PathBuf| p.display().to_string();
    let sandbox = dir.with_env(vec![
        ("PATH", format!("{}:/usr/bin:/bin", bin.display())),
        ("SANDBOX", shown(path.clone())),
        ("MACHINE_STORAGE_PATH", shown(path.join("store"))),
        ("STANDIN_LOG", shown(path.join("calls.log"))),
        ("VAGRANT_HOME", shown(path.join("vagrant.d"))),
    ]);
    sandbox.status("status-not-created");
    sandbox.write("lab.toml", lab_toml);
    sandbox
}

impl LabDir {
    /// What `vagrant status --machine-readable` answers, from a transcript.
    fn status(&self, fixture: &str) {
        std::fs::copy(
            repo().join(format!("tests/fixtures/vagrant/{fixture}.stdout")),
            self.path().join("status.stdout"),
        )
        .unwrap();
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.path().join("calls.log")).unwrap_or_default()
    }

    /// A docker-machine entry of someone else's, as the real store keeps one.
    fn foreign_entry(&self, name: &str, driver: &str) {
        self.foreign_entry_at(name, driver, "127.0.0.1");
    }

    /// The same, pointing at `ip` (a loopback address: the stand-in's
    /// `ls` knocks at its SSH port).
    fn foreign_entry_at(&self, name: &str, driver: &str, ip: &str) {
        let dir = self.path().join("store/machines").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let config = serde_json::json!({
            "IPAddress": ip, "MachineName": name, "DriverName": driver,
            "SSHUser": "docker", "SSHPort": 1, "SSHKeyPath": "", "SSHKey": "",
            "EnginePort": 2376, "IsSwarm": false, "Master": false, "Discovery": "",
            "EngineOptions": [],
        });
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    }
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn all(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// `out` is exit 3 (lab stopped before anything ran) and says `why`.
fn refused(out: &Output, why: &str) {
    assert_eq!(code(out), Some(3), "{}", all(out));
    assert!(text(&out.stderr).contains(why), "{}", all(out));
}

/// The record a `lab up` of this lab.toml writes before it makes anything.
fn built(lab: &LabDir) -> lab::model::Lab {
    let built = lab::model::load(&lab.path().join("lab.toml")).unwrap();
    lab::host::state::ensure(&built).unwrap();
    let mut record = lab::host::record::Record::new(&built);
    record.claim(&built);
    record.save(&built.state_dir()).unwrap();
    // Vagrant makes each machine's data folder the first time it loads it.
    for m in &built.machines {
        let data = built.state_dir().join(".vagrant/machines").join(&m.name);
        std::fs::create_dir_all(data.join(built.provider.as_str())).unwrap();
    }
    built
}

const NATIVE: &str = "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n";

#[test]
fn a_docker_machine_entry_the_lab_did_not_make_is_neither_removed_nor_reused() {
    let lab = sandbox("box = \"x/y\"\n[swarm]\nnodes = 1\n");
    lab.foreign_entry("consul", "virtualbox");

    // destroy in a directory that was never built: the user's `consul` VM stays.
    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(
        text(&out.stderr).contains("left alone: docker-machine entry `consul` (driver virtualbox)"),
        "{}",
        all(&out)
    );
    assert!(!lab.calls().contains(" rm "), "{}", lab.calls());
    assert!(lab.path().join("store/machines/consul").exists());

    // up stops before anything runs, naming the entry and the way out.
    let out = lab.lab(&["up", "--skip-doctor"]);
    assert_eq!(code(&out), Some(3), "{}", all(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("docker-machine entry `consul` (driver virtualbox)"),
        "{err}"
    );
    assert!(err.contains("docker-machine rm consul"), "{err}");
    assert!(!lab.calls().contains("vagrant"), "{}", lab.calls());
    assert!(!lab.calls().contains(" rm "), "{}", lab.calls());
}

/// Issue 20: a first `up` that failed at `vagrant up` had already written
/// `swarm-master` into the record; the user's own generic `swarm-master`,
/// made afterwards, was then removed by `destroy`.
#[test]
fn an_entry_the_user_made_under_the_labs_name_after_a_failed_up_stays() {
    let lab = sandbox("box = \"x/y\"\n[swarm]\nnodes = 1\n");
    lab.write("up-fails", "");
    let out = lab.lab(&["up", "--skip-doctor"]);
    assert_ne!(code(&out), Some(0), "{}", all(&out));
    assert!(lab.calls().contains("vagrant up"), "{}", lab.calls());
    let record = std::fs::read_to_string(lab.path().join(".lab/record.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(
        record["docker_machine"],
        serde_json::json!({}),
        "no create ran, so no entry is the lab's: {record}"
    );

    lab.foreign_entry_at("swarm-master", "generic", "127.0.0.2");
    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(
        text(&out.stderr)
            .contains("left alone: docker-machine entry `swarm-master` (driver generic)"),
        "{}",
        all(&out)
    );
    assert!(!lab.calls().contains(" rm "), "{}", lab.calls());
    assert!(lab.path().join("store/machines/swarm-master").exists());
}

/// A record an earlier lab wrote before its creates ran (no address), or
/// for another address, does not make the user's entry the lab's.
#[test]
fn a_recorded_name_without_the_entrys_address_owns_nothing() {
    let lab = sandbox("box = \"x/y\"\n[swarm]\nnodes = 1\n");
    let built = built(&lab);
    let mut record = lab::host::record::load(&built.state_dir())
        .unwrap()
        .unwrap();
    record.made_entry("consul", "consul", "192.168.61.2");
    record.docker_machine.insert(
        "swarm-master".into(),
        lab::host::record::DmRecord {
            machine: "swarm-master".into(),
            driver: "generic".into(),
            address: None,
        },
    );
    record.save(&built.state_dir()).unwrap();
    lab.foreign_entry_at("consul", "generic", "127.0.0.3");
    lab.foreign_entry_at("swarm-master", "generic", "127.0.0.2");

    let out = lab.lab(&["destroy", "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(
        !text(&out.stdout).contains("docker-machine rm"),
        "{}",
        all(&out)
    );
    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    for name in ["consul", "swarm-master"] {
        assert!(
            text(&out.stderr).contains(&format!("left alone: docker-machine entry `{name}`")),
            "{}",
            all(&out)
        );
        assert!(lab.path().join("store/machines").join(name).exists());
    }
    assert!(!lab.calls().contains(" rm "), "{}", lab.calls());
}

/// Issue 20: after `mv lab1 lab2`, `destroy`, `status` and `env --unset`
/// in lab2 exited 3 ("a lab named `lab` already exists"): the list of labs
/// knew the lab by its old lab.toml only.
#[test]
fn a_moved_lab_is_the_same_lab_and_can_be_taken_down() {
    let sandbox = sandbox(NATIVE);
    let first = sandbox.path().join("lab1");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::write(first.join("lab.toml"), NATIVE).unwrap();
    let lab = lab::model::load(&first.join("lab.toml")).unwrap();
    lab::host::state::ensure(&lab).unwrap();
    let registry = sandbox.path().join(".labs.json");
    let lab = lab::host::registry::claim(&registry, lab, &[]).unwrap();
    let mut record = lab::host::record::Record::new(&lab);
    record.claim(&lab);
    record.save(&lab.state_dir()).unwrap();
    lab::host::registry::note_id(&registry, &lab, &record.id).unwrap();

    std::fs::rename(&first, sandbox.path().join("lab2")).unwrap();
    // The lab leaves the list as a step of its plan, under its lock, before
    // the state directory that holds the lock goes.
    let out = sandbox.lab(&["--file", "lab2/lab.toml", "destroy", "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let plan = text(&out.stdout);
    let (unlist, remove) = (plan.find("off the list of labs in"), plan.find("rm -rf"));
    assert!(
        unlist.is_some() && remove.is_some() && unlist < remove,
        "{plan}"
    );
    for args in [
        &["--file", "lab2/lab.toml", "status"][..],
        &["--file", "lab2/lab.toml", "env", "--unset"],
        &["--file", "lab2/lab.toml", "destroy"],
    ] {
        let out = sandbox.lab(args);
        assert_eq!(code(&out), Some(0), "lab {args:?}: {}", all(&out));
        assert!(
            !text(&out.stderr).contains("already exists"),
            "{}",
            all(&out)
        );
    }
    assert!(!sandbox.path().join("lab2/.lab").exists());
    let left = lab::host::registry::load(&registry).unwrap();
    assert!(left.is_empty(), "the moved lab is still listed: {left:?}");
}

/// Issue 20: with lab.toml deleted, or asking for more CPUs than this host
/// has, `destroy` exited 3 although the record knew every machine.
#[test]
fn destroy_needs_only_the_record_not_lab_toml_nor_the_hosts_cpus() {
    let lab = sandbox(NATIVE);
    let first = built(&lab);
    let vagrant_data = first
        .state_dir()
        .join(".vagrant/machines/consul/virtualbox");
    std::fs::write(vagrant_data.join("id"), "uuid-1\n").unwrap();
    std::fs::remove_file(lab.path().join("lab.toml")).unwrap();
    lab.status("status-running");
    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(
        text(&out.stderr).contains("lab.toml is gone"),
        "{}",
        all(&out)
    );
    assert!(
        lab.calls().contains("vagrant destroy -f"),
        "{}",
        lab.calls()
    );
    assert!(!first.state_dir().exists());
    // Nothing to go by at all: the usual missing-file error.
    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(3), "{}", all(&out));

    let big = sandbox(&format!("{NATIVE}[machines]\ncpus = 200\n"));
    let made = built(&big);
    big.status("status-running");
    let out = big.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(!made.state_dir().exists());
}

/// Issue 20: `nodes` lowered 3 → 1, then `lab up`: the extra nodes kept
/// running but vanished from `status`, `halt` and the list of labs.
#[test]
fn machines_lab_toml_no_longer_lists_stay_the_labs_until_up_retires_them() {
    let lab = sandbox(&NATIVE.replace("nodes = 1", "nodes = 2"));
    let built = built(&lab);
    for m in ["consul", "swarm-master", "swarm-node01", "swarm-node02"] {
        let data = built
            .state_dir()
            .join(".vagrant/machines")
            .join(m)
            .join("virtualbox");
        std::fs::write(data.join("id"), format!("uuid-{m}\n")).unwrap();
    }
    std::fs::write(
        built.state_dir().join("Vagrantfile"),
        "# the last `up`'s, two nodes\n",
    )
    .unwrap();
    lab.write("lab.toml", NATIVE);
    let running =
        std::fs::read_to_string(repo().join("tests/fixtures/vagrant/status-running.stdout"))
            .unwrap();
    let node02: String = running
        .lines()
        .filter(|l| l.contains(",swarm-node01,"))
        .map(|l| l.replace("swarm-node01", "swarm-node02") + "\n")
        .collect();
    lab.write("status.stdout", &format!("{running}{node02}"));
    let configs =
        std::fs::read_to_string(repo().join("tests/fixtures/vagrant/ssh-config-all.stdout"))
            .unwrap();
    let node02 = configs[configs.find("Host swarm-node01").unwrap()..]
        .replace("swarm-node01", "swarm-node02");
    lab.write("ssh-config.stdout", &format!("{configs}\n{node02}"));

    let out = lab.lab(&["status"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(text(&out.stdout).contains("swarm-node02"), "{}", all(&out));
    let out = lab.lab(&["halt", "--dry-run"]);
    assert!(text(&out.stdout).contains("swarm-node02"), "{}", all(&out));

    // A script without --yes: nothing changes, and it says how.
    let out = lab.lab(&["--timeout", "20", "up", "--skip-doctor"]);
    assert_eq!(code(&out), Some(3), "{}", all(&out));
    assert!(
        text(&out.stderr).contains("no longer lists swarm-node02 (running)"),
        "{}",
        all(&out)
    );
    assert!(text(&out.stderr).contains("lab up --yes"), "{}", all(&out));
    assert!(!lab.calls().contains("vagrant destroy"), "{}", lab.calls());
    let record = lab::host::record::load(&built.state_dir())
        .unwrap()
        .unwrap();
    assert!(record.machines.contains_key("swarm-node02"));
    let listed = lab::host::registry::load(&lab.path().join(".labs.json")).unwrap();
    assert!(
        listed
            .iter()
            .any(|e| e.names.contains(&"lab-swarm-node02".to_string())),
        "{listed:?}"
    );

    let out = lab.lab(&["up", "--dry-run"]);
    assert!(
        text(&out.stdout).contains("destroy -f swarm-node02"),
        "{}",
        all(&out)
    );
    assert!(
        text(&out.stdout).contains("forget swarm-node02"),
        "{}",
        all(&out)
    );

    let out = lab.lab(&["--timeout", "20", "up", "--skip-doctor", "--yes"]);
    assert!(
        text(&out.stderr).contains("retiring what lab.toml no longer lists: swarm-node02"),
        "{}",
        all(&out)
    );
    let destroy = lab
        .calls()
        .lines()
        .find(|l| l.starts_with("vagrant destroy"))
        .map(String::from)
        .unwrap_or_else(|| panic!("no vagrant destroy:\n{}", lab.calls()));
    assert!(
        destroy.starts_with("vagrant destroy -f swarm-node02 "),
        "{destroy}"
    );
    let record = lab::host::record::load(&built.state_dir())
        .unwrap()
        .unwrap();
    assert!(!record.machines.contains_key("swarm-node02"), "{record:?}");
    assert!(record.machines.contains_key("swarm-node01"), "{record:?}");
}

/// Issue 20: `.lab` removed by hand (`git clean -fdx`): the next `up`
/// failed on VirtualBox's duplicate VM name. It stops first, naming the
/// VM as the lab's from before and how to remove it.
#[test]
fn vms_left_by_a_removed_state_directory_are_named_before_anything_runs() {
    let lab = sandbox(NATIVE);
    lab.write(
        "vms.txt",
        "\"lab-consul\" {0b5f4a3e-8c2d-4f1e-9a7b-1c2d3e4f5a6b}\n\"unrelated\" {1}\n",
    );
    let index = lab.path().join("vagrant.d/data/machine-index");
    std::fs::create_dir_all(&index).unwrap();
    let state = std::fs::canonicalize(lab.path()).unwrap().join(".lab");
    std::fs::write(
        index.join("index"),
        serde_json::json!({"version": 1, "machines": {"x": {
            "name": "consul", "provider": "virtualbox", "vagrantfile_path": state,
        }}})
        .to_string(),
    )
    .unwrap();
    let out = lab.lab(&["up", "--skip-doctor"]);
    refused(&out, "VirtualBox VM `lab-consul` {0b5f4a3e-8c2d-4f1e-9a7b-1c2d3e4f5a6b}, which this lab made before its state directory");
    assert!(
        text(&out.stderr)
            .contains("VBoxManage unregistervm 0b5f4a3e-8c2d-4f1e-9a7b-1c2d3e4f5a6b --delete"),
        "{}",
        all(&out)
    );
    assert!(!lab.calls().contains("vagrant up"), "{}", lab.calls());
}

#[test]
fn another_labs_container_is_never_removed_nor_built_over() {
    let lab = sandbox(
        "provider = \"docker\"\nbox = \"debian-docker\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n",
    );
    // Another lab's live master, with the default lab's name, seen by `docker ps`.
    lab.write(
        "ps.stdout",
        "0123456789abcdef\tlab-swarm-master\tsome-other-labs-id\n",
    );
    let out = lab.lab(&["up", "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(!text(&out.stdout).contains("docker rm"), "{}", all(&out));
    assert!(
        text(&out.stderr).contains("container `lab-swarm-master`"),
        "{}",
        all(&out)
    );
    refused(
        &lab.lab(&["up", "--skip-doctor"]),
        "docker rm -f lab-swarm-master",
    );
    assert!(!lab.calls().contains("docker rm"), "{}", lab.calls());
    assert!(!lab.calls().contains("vagrant up"), "{}", lab.calls());
}

/// A lab built with `nodes = 3` and taken down after lab.toml says 1: the
/// Vagrantfile is written again, from the record, before Vagrant is asked.
#[test]
fn destroy_takes_down_every_recorded_machine_even_without_a_vagrantfile() {
    let lab = sandbox(&NATIVE.replace("nodes = 1", "nodes = 3"));
    let built = built(&lab);
    // Vagrant's data is there, the Vagrantfile is not.
    let vagrant_data = built
        .state_dir()
        .join(".vagrant/machines/consul/virtualbox");
    std::fs::create_dir_all(&vagrant_data).unwrap();
    std::fs::write(vagrant_data.join("id"), "uuid-1\n").unwrap();
    lab.write("lab.toml", NATIVE);
    lab.status("status-running");

    // Issue 20: the dry run planned only `rm -rf ./.lab` here; it plans
    // what the real run does, and asks Vagrant nothing without its file.
    let out = lab.lab(&["destroy", "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let plan = text(&out.stdout);
    assert!(plan.contains("vagrant destroy -f"), "{plan}");
    assert!(plan.contains("created: consul"), "{plan}");
    assert!(
        !lab.calls()
            .lines()
            .any(|l| l.starts_with("vagrant status") && l.contains("vagrantfile=no")),
        "{}",
        lab.calls()
    );
    std::fs::remove_file(lab.path().join("calls.log")).unwrap();

    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let calls = lab.calls();
    assert!(calls.contains("vagrant status"), "{calls}");
    assert!(
        calls
            .lines()
            .filter(|l| l.starts_with("vagrant "))
            .all(|l| l.contains("vagrantfile=yes")),
        "Vagrant was asked without a Vagrantfile:\n{calls}"
    );
    assert!(calls.contains("vagrant destroy -f"), "{calls}");
    let seen = std::fs::read_to_string(lab.path().join("vagrantfile.seen")).unwrap();
    for machine in ["swarm-node01", "swarm-node02", "swarm-node03"] {
        assert!(
            seen.contains(&format!("config.vm.define '{machine}'")),
            "{machine} is not in the Vagrantfile Vagrant destroyed from:\n{seen}"
        );
    }
    assert!(!built.state_dir().exists());
}

#[test]
fn a_renamed_lab_is_taken_down_under_its_old_name_and_up_says_so_first() {
    let lab = sandbox(NATIVE);
    let built = built(&lab);
    std::fs::create_dir_all(built.state_dir().join(".vagrant/machines")).unwrap();
    lab.write("lab.toml", &format!("name = \"renamed\"\n{NATIVE}"));
    lab.status("status-running");

    refused(
        &lab.lab(&["up", "--skip-doctor"]),
        "before its name changed",
    );
    assert!(!lab.calls().contains("vagrant up"), "{}", lab.calls());

    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let destroy = lab
        .calls()
        .lines()
        .find(|l| l.starts_with("vagrant destroy"))
        .map(String::from)
        .unwrap_or_else(|| panic!("no vagrant destroy:\n{}", lab.calls()));
    assert!(destroy.contains("/.lab vagrantfile=yes"), "{destroy}");
    let seen = std::fs::read_to_string(lab.path().join("vagrantfile.seen")).unwrap();
    assert!(seen.contains("vb.name = 'lab-consul'"), "{seen}");
    assert!(!built.state_dir().exists());
}

#[test]
fn a_broken_list_of_labs_stops_up_but_not_render_or_destroy() {
    let lab = sandbox(NATIVE);
    lab.write(".labs.json", "");
    let out = lab.lab(&["render"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(text(&out.stderr).contains(".labs.json"), "{}", all(&out));
    let out = lab.lab(&["destroy"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let out = lab.lab(&["up", "--skip-doctor"]);
    assert_eq!(code(&out), Some(3), "{}", all(&out));
    let err = text(&out.stderr);
    assert!(err.contains(".labs.json") && err.contains("hint:"), "{err}");
    assert!(!lab.calls().contains("vagrant up"), "{}", lab.calls());
}

#[test]
fn the_list_of_labs_is_never_put_in_the_current_or_a_shared_directory() {
    let lab = sandbox(NATIVE);
    let home = lab.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let out = lab
        .command(&["status", "--all", "--json"])
        .env_remove("LAB_REGISTRY")
        .env("XDG_STATE_HOME", "")
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["registry"],
        home.join(".local/state/lab/labs.json")
            .display()
            .to_string()
    );
    // Without HOME, the account's own home (from the user database), never
    // the current directory or a shared one.
    let out = lab
        .command(&["status", "--all", "--json"])
        .env_remove("LAB_REGISTRY")
        .env_remove("XDG_STATE_HOME")
        .env_remove("HOME")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let registry = json["registry"].as_str().unwrap();
    assert!(
        registry.starts_with('/')
            && registry.ends_with("/.local/state/lab/labs.json")
            && !registry.starts_with("/tmp")
            && !registry.starts_with(&lab.path().display().to_string()),
        "{registry}"
    );
}

#[test]
fn a_path_with_a_newline_runs_nothing() {
    let lab = sandbox(NATIVE);
    let evil = lab.path().join("x\nsystem(\"touch PWNED\")\n#");
    std::fs::create_dir(&evil).unwrap();
    std::fs::write(evil.join("lab.toml"), NATIVE).unwrap();
    for args in [
        &["render"][..],
        &["env", "swarm-master"],
        &["up", "--dry-run"],
    ] {
        let out = lab.command(args).current_dir(&evil).output().unwrap();
        assert_eq!(code(&out), Some(3), "{args:?}: {}", all(&out));
        assert!(
            text(&out.stderr).contains("control character"),
            "{}",
            all(&out)
        );
        assert!(text(&out.stdout).is_empty(), "{}", all(&out));
    }
    assert!(!evil.join("PWNED").exists() && !lab.path().join("PWNED").exists());
}

#[test]
fn timeout_zero_is_refused_not_read_as_no_limit() {
    let lab = sandbox(NATIVE);
    let out = lab.lab(&["--timeout", "0", "status"]);
    assert_eq!(code(&out), Some(2), "{}", all(&out));
    assert!(text(&out.stderr).contains("no limit"), "{}", all(&out));
}

fn alive(pid: i32) -> bool {
    // A zombie waiting for its parent to reap it is not running.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
}

/// SIGTERM and SIGHUP stop `lab up` as Ctrl-C does: the running `vagrant
/// up` (in a process group of its own, which no terminal signals) is
/// stopped too, and lab exits 128 + the signal.
#[test]
fn sigterm_and_sighup_stop_every_child_and_exit_128_plus_the_signal() {
    for (signal, expected) in [(15, 143), (1, 129)] {
        let lab = sandbox(NATIVE);
        let child = lab
            .command(&["up", "--skip-doctor"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid_file = lab.path().join("vagrant-up.pid");
        support::wait_for(
            "vagrant up to start",
            Duration::from_secs(60),
            Duration::from_millis(50),
            || pid_file.exists(),
        );
        let vagrant: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let state = lab.path().join(".lab");
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the state directory is private");
        assert!(state.join(".gitignore").exists());
        let log_mode = std::fs::metadata(state.join("lab.log"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(log_mode, 0o600);

        let id = i32::try_from(child.id()).unwrap();
        let which = nix::sys::signal::Signal::try_from(signal).unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(id), which).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), Some(expected), "{}", all(&out));
        support::wait_for(
            &format!("vagrant up to end after signal {signal}"),
            Duration::from_secs(10),
            Duration::from_millis(50),
            || !alive(vagrant),
        );
    }
}

/// A `git add -A` in a lab's directory (an instructor versioning the class
/// material) never takes the state: the CA key, Vagrant's keys, the log.
#[test]
fn the_state_directory_stays_out_of_git() {
    let lab = sandbox(&format!("name = \"class\"\n{NATIVE}"));
    let built = built(&lab);
    std::fs::write(built.state_dir().join("lab.log"), "secret-ish\n").unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(lab.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", lab.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", all(&out));
        text(&out.stdout)
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    let tracked = git(&["ls-files"]);
    assert!(tracked.contains("lab.toml"), "{tracked}");
    assert!(!tracked.contains(".lab-class"), "{tracked}");
}

/// A lab whose directory is away keeps its subnet, is shown as missing,
/// and goes only with --prune.
#[test]
fn a_lab_whose_directory_is_gone_is_kept_until_pruned() {
    let lab = sandbox(NATIVE);
    let list = lab.path().join(".labs.json");
    let entry = |file: &Path| {
        serde_json::json!([{"name": "away", "file": file, "subnet": "192.168.61.0/24"}]).to_string()
    };
    std::fs::write(&list, entry(&lab.path().join("gone/lab.toml"))).unwrap();
    let out = lab.lab(&["status", "--all"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(text(&out.stdout).contains("missing"), "{}", all(&out));
    let rendered = lab.lab(&["render"]);
    assert!(
        !text(&rendered.stdout).contains("192.168.61."),
        "the missing lab's subnet was handed out again:\n{}",
        all(&rendered)
    );
    let out = lab.lab(&["status", "--all", "--prune"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(
        text(&out.stderr).contains("forgot lab `away`"),
        "{}",
        all(&out)
    );
    let left: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&list).unwrap()).unwrap();
    assert_eq!(left["labs"], serde_json::json!([]), "{left}");
}

/// `lab halt` stops what runs and nothing else; with nothing running it
/// says so.
#[test]
fn halt_stops_the_running_machines_only() {
    let lab = sandbox(NATIVE);
    let built = built(&lab);
    std::fs::write(
        built.state_dir().join("Vagrantfile"),
        "# as `lab up` wrote it\n",
    )
    .unwrap();
    lab.status("status-mixed");
    let out = lab.lab(&["halt", "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let plan = text(&out.stdout);
    let status = std::fs::read_to_string(lab.path().join("status.stdout")).unwrap();
    let running: Vec<&str> = status
        .lines()
        .filter(|l| l.ends_with(",state,running"))
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert!(!running.is_empty(), "the transcript has running machines");
    let line = plan.lines().next().unwrap_or_default();
    assert!(line.contains("vagrant halt"), "{plan}");
    for name in ["consul", "swarm-master", "swarm-node01"] {
        assert_eq!(
            line.contains(name),
            running.contains(&name),
            "{name}: {plan}"
        );
    }
    let out = lab.lab(&["halt"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    let halted = format!("vagrant halt {}", running.join(" "));
    assert!(lab.calls().contains(&halted), "{}", lab.calls());
    lab.status("status-not-created");
    let out = lab.lab(&["halt"]);
    assert_eq!(code(&out), Some(0), "{}", all(&out));
    assert!(
        text(&out.stderr).contains("nothing to halt"),
        "{}",
        all(&out)
    );
}
