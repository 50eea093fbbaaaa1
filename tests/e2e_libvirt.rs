//! Real virtual machines: vagrant-libvirt boots the `debian-libvirt` box
//! (boxes/libvirt/build-box.sh, built offline by .ci/run) under QEMU's
//! software emulation (`driver = "qemu"`: this host's KVM runs no stock
//! guest kernel). What containers never show happens here: a kernel boots,
//! host keys are made on the first boot, eth1 takes its DHCP lease late,
//! and libvirt makes and removes networks of its own.
//!
//! Two labs, one after the other (each VM costs ~2 GiB of host memory and
//! two cores are all CI has): native engines in swarm mode on three VMs,
//! then the docker-machine path on two, from a box that `lab box bake`
//! made of one without Docker, with the stand-in docker-machine
//! provisioning the VMs' real engines over SSH. Both run from a pack.
// Unix hosts only: libvirt is Linux's.
#![cfg(unix)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Instant;

use support::lab_dir::LabDir;
use support::native::PROBE_IMAGE;
use support::{prerequisite, repo, text};

const VIRSH_URI: &str = "qemu:///system";
const BOX_FILE: &str = "boxes/libvirt/debian-12-libvirt.box";
/// The box without Docker, and Docker's packages, for `lab box bake`.
const PLAIN_BOX_FILE: &str = "boxes/libvirt/debian-12-plain-libvirt.box";
const DOCKER_DEBS: &str = "boxes/libvirt/docker-debs";

/// One lab of VMs at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn prerequisites() -> bool {
    let built = [BOX_FILE, PLAIN_BOX_FILE, DOCKER_DEBS]
        .iter()
        .all(|f| repo().join(f).exists());
    if !built {
        let why = format!("no {BOX_FILE}, {PLAIN_BOX_FILE} or {DOCKER_DEBS} (run `sudo boxes/libvirt/build-box.sh`)");
        assert!(
            std::env::var_os(support::REQUIRED).is_none(),
            "{why}, and {} is set",
            support::REQUIRED
        );
        eprintln!("SKIPPED: {why}");
        return false;
    }
    prerequisite("vagrant", &["--version"])
        && prerequisite("virsh", &["-c", VIRSH_URI, "version"])
        && prerequisite("docker", &["image", "inspect", PROBE_IMAGE])
}

fn virsh(args: &[&str]) -> Output {
    Command::new("virsh")
        .args(["-c", VIRSH_URI])
        .args(args)
        .output()
        .expect("virsh runs")
}

/// The names `virsh LIST --name` prints (domains, networks), or a pool's
/// volumes.
fn listed(args: &[&str]) -> Vec<String> {
    let out = virsh(args);
    assert!(
        out.status.success(),
        "virsh {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn pools() -> Vec<String> {
    listed(&["pool-list", "--all", "--name"])
}

/// What libvirt holds of lab `name`: its domains, its two networks and the
/// VMs' disks (named after the domains), in every pool.
fn libvirt_things(name: &str) -> Vec<String> {
    let prefix = format!("{name}-");
    let mut things: Vec<String> = listed(&["list", "--all", "--name"])
        .into_iter()
        .filter(|d| d.starts_with(&prefix))
        .map(|d| format!("domain {d}"))
        .collect();
    things.extend(
        listed(&["net-list", "--all", "--name"])
            .into_iter()
            .filter(|n| n == name || n.starts_with(&prefix))
            .map(|n| format!("network {n}")),
    );
    things.extend(
        volumes()
            .into_iter()
            .filter(|(_, v)| v.starts_with(&prefix))
            .map(|(pool, v)| format!("volume {pool}/{v}")),
    );
    things
}

/// Takes away whatever of lab `name` a failed run left in libvirt.
fn remove_from_libvirt(name: &str) {
    for thing in libvirt_things(name) {
        let (kind, what) = thing.split_once(' ').unwrap();
        match kind {
            "domain" => {
                virsh(&["destroy", what]);
                virsh(&["undefine", what, "--remove-all-storage"]);
            }
            "network" => {
                virsh(&["net-destroy", what]);
                virsh(&["net-undefine", what]);
            }
            _ => {
                let (pool, volume) = what.split_once('/').unwrap();
                virsh(&["vol-delete", "--pool", pool, volume]);
            }
        }
    }
}

/// Every volume of every pool, as (pool, volume).
fn volumes() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for pool in pools() {
        let out = virsh(&["vol-list", &pool]);
        found.extend(
            text(&out.stdout)
                .lines()
                .skip(2)
                .filter_map(|l| l.split_whitespace().next())
                .map(|v| (pool.clone(), v.to_string())),
        );
    }
    found
}

/// vagrant-libvirt's copies of boxes in the pools (`BOX_vagrant_box_image_
/// VERSION_ADDED_box.img`): a Vagrant home of a test's own makes a new one.
fn box_volumes() -> Vec<String> {
    volumes()
        .into_iter()
        .filter(|(_, v)| v.contains("_vagrant_box_image_"))
        .map(|(pool, v)| format!("{pool}/{v}"))
        .collect()
}

/// A lab of VMs: the lab directory, and what libvirt holds of it.
struct VmLab {
    dir: LabDir,
    /// The box volumes there were before lab ran with a Vagrant home of the
    /// test's own: those made since are the test's, removed at its end.
    volumes_before: Option<Vec<String>>,
    started: Instant,
}

impl std::ops::Deref for VmLab {
    type Target = LabDir;

    fn deref(&self) -> &LabDir {
        &self.dir
    }
}

impl std::ops::DerefMut for VmLab {
    fn deref_mut(&mut self) -> &mut LabDir {
        &mut self.dir
    }
}

impl VmLab {
    /// A swarm-mode lab of `nodes` + 1 VMs with `engine`, in a directory
    /// that holds the box where the `debian-libvirt` profile looks for it
    /// (relative to lab.toml), so that `lab up` adds it to Vagrant itself.
    fn new(prefix: &str, third_octet: u32, engine: &str, nodes: u32, after_up: bool) -> VmLab {
        let pid = std::process::id();
        let name = format!("{prefix}{pid}");
        let subnet = format!("10.237.{}.0/24", third_octet + pid % 100);
        let dir = LabDir::new("lab vm 'q' $(touch pwned) ").makes(name.clone(), subnet.clone());
        dir.write(
            "lab.toml",
            &format!(
                "name = \"{name}\"\nprovider = \"libvirt\"\nbox = \"debian-libvirt\"\nengine = \"{engine}\"\nmode = \"swarm\"\n\
                 [network]\nsubnet = \"{subnet}\"\n[consul]\nenabled = false\n[swarm]\nnodes = {nodes}\n\
                 [libvirt]\ndriver = \"qemu\"\n[verify]\nimage = \"{PROBE_IMAGE}\"\n\
                 [snapshots]\nafter_up = {after_up}\n"
            ),
        );
        let boxes = dir.path().join("boxes/libvirt");
        std::fs::create_dir_all(&boxes).unwrap();
        for file in [BOX_FILE, PLAIN_BOX_FILE] {
            std::os::unix::fs::symlink(repo().join(file), dir.path().join(file)).unwrap();
        }

        let env = support::real_engine_standin_env(dir.path());
        VmLab {
            dir: dir.with_env(env),
            volumes_before: None,
            started: Instant::now(),
        }
    }

    /// The lab's own directory, where its lab.toml, stand-ins and
    /// docker-machine store are, wherever lab runs now (a pack).
    fn home(&self) -> &Path {
        self.dir.dir.path()
    }

    /// `box = PROFILE` in lab.toml.
    fn use_box(&self, profile: &str) {
        let toml = self.home().join("lab.toml");
        let text_now = std::fs::read_to_string(&toml).unwrap();
        let line = text_now
            .lines()
            .find(|l| l.starts_with("box = "))
            .unwrap()
            .to_string();
        std::fs::write(
            &toml,
            text_now.replace(&line, &format!("box = \"{profile}\"")),
        )
        .unwrap();
    }

    /// From here on lab runs with a Vagrant home of the test's own
    /// (`home` under the test's directory), which starts with no box.
    fn own_vagrant_home(&mut self, home: &str) {
        self.volumes_before.get_or_insert_with(box_volumes);
        let home = self.home().join(home).display().to_string();
        self.dir.env.push(("VAGRANT_HOME", home));
    }

    /// `lab pack` of this lab, with its probe image as a tag of its own,
    /// which then leaves this host's engine; from here on lab runs in the
    /// pack, with a Vagrant of its own that has no box: what the pack
    /// holds is all there is. Returns the tag, for the caller to remove.
    fn run_from_pack(&mut self) -> support::ImageTag {
        let tag = support::ImageTag::of(
            PROBE_IMAGE,
            format!("lab-pack-e2e/probe-{}:t", std::process::id()),
        );
        let toml = self.home().join("lab.toml");
        let text_now = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(&toml, text_now.replace(PROBE_IMAGE, &tag.0)).unwrap();
        let usb = self.home().join("usb stick");
        let bin = support::lab_binary().display().to_string();
        self.timed(&["pack", &usb.display().to_string(), "--bin", &bin]);
        tag.remove();
        self.root = usb;
        self.own_vagrant_home("vagrant.d");
        tag
    }

    /// `lab ARGS`, which must succeed; says how long it took.
    fn timed(&self, args: &[&str]) -> String {
        let started = Instant::now();
        let out = support::succeeded(&self.lab(args), args);
        eprintln!(
            "VM: {}: lab {} took {:.1}s",
            self.name,
            args.join(" "),
            started.elapsed().as_secs_f64()
        );
        out
    }

    /// `lab status` runs no `vagrant` and agrees with it; says how long
    /// each took.
    fn status_agrees_with_vagrant(&self) {
        let state = self.path().join(format!(".lab-{}", self.name));
        let (_, lab, vagrant) = support::status_agrees_with_vagrant(self.path(), &self.env, &state);
        eprintln!(
            "VM: {}: lab status took {lab:.2}s, vagrant status {vagrant:.2}s",
            self.name
        );
    }

    /// `lab -v ARGS`, which must succeed: its stdout; what `-v` said of
    /// where the time went is printed with the test's output.
    fn timed_verbose(&self, args: &[&str]) -> String {
        let started = Instant::now();
        let mut all = vec!["-v"];
        all.extend_from_slice(args);
        let out = self.lab(&all);
        assert!(out.status.success(), "lab {all:?}: {}", text(&out.stderr));
        let said = text(&out.stderr);
        for line in said
            .lines()
            .filter(|l| l.starts_with("verify:") || l.starts_with("lab: commands run"))
        {
            eprintln!("VM: {}: {line}", self.name);
        }
        eprintln!(
            "VM: {}: lab {} took {:.1}s",
            self.name,
            all.join(" "),
            started.elapsed().as_secs_f64()
        );
        text(&out.stdout)
    }

    /// `docker node ls` on the master through `lab env`, as (host, status).
    fn nodes(&self) -> Vec<(String, String)> {
        let out = support::docker_after_env(
            self.path(),
            &self.env,
            "swarm-master",
            "node ls --format '{{.Hostname}} {{.Status}}'",
        );
        assert!(
            out.status.success(),
            "docker node ls: {}",
            text(&out.stderr)
        );
        let mut nodes: Vec<(String, String)> = text(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(h, s)| (h.to_string(), s.to_string()))
            .collect();
        nodes.sort();
        nodes
    }

    /// destroy leaves nothing: no domain, network or disk in libvirt, no
    /// state, no lab in the list of labs.
    fn destroy_leaves_nothing(&self) {
        assert!(
            !libvirt_things(&self.name).is_empty(),
            "libvirt shows nothing of the lab before destroy"
        );
        self.timed(&["destroy"]);
        assert_eq!(libvirt_things(&self.name), Vec::<String>::new());
        assert!(!self.path().join(format!(".lab-{}", self.name)).exists());
        let labs = std::fs::read_to_string(self.path().join(".labs.json")).unwrap_or_default();
        assert!(!labs.contains(&self.name), "{labs}");
        assert!(!self.path().join("pwned").exists() && !Path::new("pwned").exists());
        eprintln!(
            "VM: {}: all of it took {:.1}s",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }
}

impl Drop for VmLab {
    fn drop(&mut self) {
        self.dir.take_down();
        remove_from_libvirt(&self.name);
        if let Some(before) = &self.volumes_before {
            for volume in box_volumes().iter().filter(|v| !before.contains(v)) {
                let (pool, name) = volume.split_once('/').unwrap();
                virsh(&["vol-delete", "--pool", pool, name]);
            }
        }
    }
}

fn ready(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| (n.to_string(), "Ready".to_string()))
        .collect()
}

#[test]
fn native_swarm_on_three_vms() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !prerequisites() {
        return;
    }
    let mut lab = VmLab::new("lvn", 0, "native", 2, true);

    // doctor on this host: the plugin and libvirtd are there, and it says
    // that the lab asks for software emulation and what that costs.
    let out = lab.lab(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", text(&out.stdout)));
    let check = |name: &str| -> serde_json::Value {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("doctor has no {name} check: {report}"))
            .clone()
    };
    assert_eq!(check("vagrant-libvirt")["passed"], true, "{report}");
    assert_eq!(check("libvirtd")["passed"], true, "{report}");
    let emulation = check("virtualisation");
    assert!(
        emulation.to_string().contains("software emulation"),
        "{emulation}"
    );

    // From a pack, as a class without internet: the box comes from the
    // pack's file into a Vagrant that has none, the probe image from the
    // pack's archive into an engine that has none.
    let probe = lab.run_from_pack();
    let plan = lab.timed(&["up", "--dry-run"]);
    let add = plan
        .find("vagrant box add --name lab/debian-12 --provider libvirt")
        .unwrap_or_else(|| panic!("{plan}"));
    let load = plan
        .find("docker load -i")
        .unwrap_or_else(|| panic!("{plan}"));
    let boot = plan.find("vagrant up").unwrap_or_else(|| panic!("{plan}"));
    assert!(add < boot && load < boot, "{plan}");
    lab.timed(&["up"]);
    let boxes = Command::new("vagrant")
        .args(["box", "list"])
        .envs(lab.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        text(&boxes.stdout).contains("lab/debian-12 (libvirt, 0)"),
        "{}",
        text(&boxes.stdout)
    );
    assert!(
        probe.on_host(),
        "the pack's probe image is not on the host after up"
    );
    assert_eq!(
        lab.nodes(),
        ready(&["swarm-master", "swarm-node01", "swarm-node02"])
    );
    let dry = lab.timed(&["up", "--dry-run"]);
    assert!(dry.starts_with("nothing to do"), "{dry}");
    // status and a second up read Vagrant's record and ask libvirt
    // (virsh), starting no Ruby, and say what Vagrant itself says.
    lab.status_agrees_with_vagrant();
    // The first `up` with nothing to do runs doctor's checks (Vagrant's
    // plugins and boxes) and keeps their passing; the next runs no Vagrant.
    lab.timed(&["up"]);
    let started = Instant::now();
    let again = lab.lab(&["-v", "up"]);
    eprintln!(
        "VM: {}: lab -v up with nothing to do took {:.1}s",
        lab.name,
        started.elapsed().as_secs_f64()
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    let said = text(&again.stderr);
    assert!(said.contains("commands run: vagrant 0,"), "{said}");
    assert!(said.contains("nothing to do"), "{said}");

    // Probes on different VMs ping each other over the overlay, by
    // address and by name; `-v` says where verify's time went.
    let report = lab.timed_verbose(&["verify"]);
    support::assert_swarm_verified(&report);

    checkpoints(&lab);
    slow_link(&lab);

    lab.destroy_leaves_nothing();
}

/// The average round trip from swarm-node01 to swarm-master's private
/// address, in milliseconds (`ping`'s `rtt min/avg/max/mdev` line).
fn round_trip(lab: &VmLab, to: &str) -> f64 {
    let out = lab.lab(&[
        "ssh",
        "swarm-node01",
        "--",
        &format!("ping -c 5 -i 0.5 -q {to}"),
    ]);
    let said = text(&out.stdout);
    said.lines()
        .find_map(|l| l.split_once(" = ").filter(|(k, _)| k.starts_with("rtt")))
        .and_then(|(_, v)| v.split('/').nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no round trip in:\n{said}{}", text(&out.stderr)))
}

/// `lab fault net` on a VM's own kernel (which has netem): 200 ms more
/// on each round trip; `clear` takes it away.
fn slow_link(lab: &VmLab) {
    let status: serde_json::Value =
        serde_json::from_str(&lab.timed(&["status", "--json"])).unwrap();
    let master = status["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["machine"] == "swarm-master")
        .and_then(|m| m["ip"].as_str())
        .unwrap()
        .to_string();
    let before = round_trip(lab, &master);
    lab.timed(&["fault", "net", "swarm-node01", "--delay", "200"]);
    let slow = round_trip(lab, &master);
    lab.timed(&["fault", "clear", "swarm-node01"]);
    let after = round_trip(lab, &master);
    eprintln!(
        "VM: {}: round trip to swarm-master {before:.1} ms, {slow:.1} ms with --delay 200, {after:.1} ms after clear",
        lab.name
    );
    assert!(slow - before > 150.0, "{before} -> {slow}");
    assert!(after < before + 100.0, "{before} -> {after}");
}

/// The lab's snapshots, as `lab snapshot list --json` has them, with the
/// seconds each took.
fn snapshots_timed(lab: &VmLab) -> Vec<(String, u64)> {
    let listed: serde_json::Value =
        serde_json::from_str(&lab.timed(&["snapshot", "list", "--json"])).unwrap();
    listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["seconds"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn snapshots(lab: &VmLab) -> Vec<String> {
    snapshots_timed(lab).into_iter().map(|(n, _)| n).collect()
}

/// Bytes the lab's disks take on the host (their allocation, snapshots
/// included).
fn disk_bytes(lab: &VmLab) -> u64 {
    let mut total = 0;
    for thing in libvirt_things(&lab.name) {
        let Some(volume) = thing.strip_prefix("volume ") else {
            continue;
        };
        let (pool, name) = volume.split_once('/').unwrap();
        let out = virsh(&["vol-info", "--pool", pool, name, "--bytes"]);
        total += text(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("Allocation:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

fn stacks(lab: &VmLab) -> String {
    let out = support::docker_after_env(
        lab.path(),
        &lab.env,
        "swarm-master",
        "stack ls --format '{{.Name}}'",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Checkpoints on real VMs: `up` took `after-up`; a snapshot saved, a stack
/// deployed after it, the snapshot restored: the stack is gone and verify
/// passes; `reset`; a snapshot taken by hand with Vagrant is listed apart
/// and left alone; delete.
fn checkpoints(lab: &VmLab) {
    let taken = snapshots_timed(lab);
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].0, "after-up");
    eprintln!(
        "VM: {}: `lab up` took after-up in {}s",
        lab.name, taken[0].1
    );
    let before = disk_bytes(lab);
    lab.timed(&["snapshot", "save", "ex1"]);
    eprintln!(
        "VM: {}: snapshot ex1 of three machines took {} MiB of disk",
        lab.name,
        disk_bytes(lab).saturating_sub(before) / (1 << 20)
    );
    let state = lab.path().join(format!(".lab-{}", lab.name));
    let by_hand = Command::new("vagrant")
        .args(["snapshot", "save", "swarm-node01", "by-hand"])
        .env("VAGRANT_CWD", &state)
        .output()
        .unwrap();
    assert!(by_hand.status.success(), "{}", text(&by_hand.stderr));
    let listed = lab.timed(&["snapshot", "list"]);
    assert!(listed.contains("ex1 "), "{listed}");
    assert!(
        listed.contains("not lab's (left alone): swarm-node01: by-hand"),
        "{listed}"
    );

    let example = repo().join("examples/failover").display().to_string();
    lab.timed(&["deploy", &example]);
    assert!(stacks(lab).contains("failover"));

    lab.timed(&["snapshot", "restore", "ex1"]);
    assert!(!stacks(lab).contains("failover"), "{}", stacks(lab));
    assert_eq!(
        lab.nodes(),
        ready(&["swarm-master", "swarm-node01", "swarm-node02"])
    );
    let report = lab.timed(&["verify"]);
    support::assert_swarm_verified(&report);

    lab.timed(&["reset"]);
    assert_eq!(
        lab.nodes(),
        ready(&["swarm-master", "swarm-node01", "swarm-node02"])
    );

    lab.timed(&["snapshot", "delete", "ex1"]);
    assert_eq!(snapshots(lab), ["after-up"]);
    // The one taken by hand is still there: lab never touched it.
    let out = virsh(&[
        "snapshot-list",
        &format!("{}-swarm-node01", lab.name),
        "--name",
    ]);
    let names = text(&out.stdout);
    assert!(names.contains("by-hand"), "{names}");
    assert!(!names.contains("lab-ex1"), "{names}");
}

/// The instructor's way to a class without downloads: `lab box bake`
/// puts Docker (from Debian's packages, no internet) into a box that has
/// none, `lab pack` puts the baked box on the "USB stick", and the class's
/// `lab up` from it runs docker-machine, whose install step then finds
/// Docker and is skipped on every machine.
#[test]
fn docker_machine_on_two_vms_of_a_baked_box() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !prerequisites() {
        return;
    }
    let mut lab = VmLab::new("lvd", 50, "docker-machine", 1, false);
    lab.use_box("debian-libvirt-plain");
    lab.own_vagrant_home("vagrant-instructor.d");
    lab.timed(&["box", "add"]);
    let debs = repo().join(DOCKER_DEBS).display().to_string();
    let started = Instant::now();
    let baked = support::succeeded(
        &lab.lab(&["box", "bake", "--packages", &debs]),
        &["box", "bake"],
    );
    let bake_took = started.elapsed().as_secs_f64();
    eprintln!(
        "VM: {}: lab box bake took {bake_took:.1}s:\n{baked}",
        lab.name
    );
    let installed = regex::Regex::new(r"installing Docker took (\d+)s here")
        .unwrap()
        .captures(&baked)
        .unwrap_or_else(|| panic!("bake says nothing of the install it saves:\n{baked}"));
    assert!(installed[1].parse::<u64>().unwrap() > 0, "{baked}");
    let profile = std::fs::read_to_string(
        lab.dir
            .path()
            .join("boxes/debian-libvirt-plain-docker.toml"),
    )
    .unwrap();
    assert!(profile.contains("docker_preinstalled = true"), "{profile}");
    assert!(
        profile.contains("box_file = \"boxes/debian-libvirt-plain-docker-libvirt.box\""),
        "{profile}"
    );
    // Nothing of the bake machine is left in libvirt.
    assert_eq!(
        libvirt_things(&format!("{}-bake", lab.name)),
        Vec::<String>::new()
    );

    lab.use_box("debian-libvirt-plain-docker");
    let _probe = lab.run_from_pack();
    let plan = lab.timed(&["up", "--dry-run"]);
    assert!(
        plan.contains("vagrant box add --name lab/debian-12-plain-docker --provider libvirt"),
        "{plan}"
    );
    lab.timed(&["up"]);
    assert_eq!(lab.nodes(), ready(&["swarm-master", "swarm-node01"]));
    // The stand-in really reached each VM over SSH with the settings lab
    // handed it: the hostname it read there is the machine's, and Docker
    // was there, so the generic driver's install was skipped. docker-machine
    // names each entry after the lab as well, as other labs share its store.
    let store = lab.home().join("dm");
    let entries: Vec<String> = ["swarm-master", "swarm-node01"]
        .iter()
        .map(|m| format!("{}-{m}", lab.name))
        .collect();
    assert_eq!(support::stored_machines(&store), entries);
    for (entry, machine) in entries.iter().zip(["swarm-master", "swarm-node01"]) {
        let dir = store.join("machines").join(entry);
        let proof = std::fs::read_to_string(dir.join("ssh-proof")).unwrap();
        assert_eq!(proof.trim(), machine, "{entry}");
        let install = std::fs::read_to_string(dir.join("install-proof")).unwrap();
        assert_eq!(install.trim(), "skipped: docker was there", "{entry}");
    }
    // `lab verify` on VMs runs in the test above (76 s here): CI's time
    // is better spent on what only this test shows.

    lab.destroy_leaves_nothing();
    assert!(support::stored_machines(&store).is_empty());
}
