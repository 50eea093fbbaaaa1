//! `lab doctor`'s checks of the host, and the same before `lab up`: the
//! programs and their versions, the provider, the network VirtualBox
//! allows, memory, disk, the box, and lab.toml's combinations.

use std::path::PathBuf;

use crate::checks::compat;
use crate::checks::doctor::*;
use crate::checks::report::Check;
use crate::model::version::{self, Version};
use crate::model::{Lab, Mode, Provider};
use crate::process::process_builder::Cmd;
use crate::process::runner::Runner;
use crate::process::tool::Tool;

/// The programs doctor looks for: what the lab drives, and VirtualBox's.
pub fn wanted(lab: &Lab) -> Vec<Tool> {
    let mut wanted = crate::reconcile::driver::of(lab).tools();
    if lab.provider == Provider::Virtualbox {
        wanted.push(Tool::VBoxManage);
    }
    wanted
}

/// Every check, the slow ones (external programs) at the same time, and
/// the programs that are missing.
pub async fn all(lab: &Lab, runner: &Runner, missing: &[Tool]) -> Vec<Check> {
    let wanted = wanted(lab);
    let mut checks: Vec<Check> = missing
        .iter()
        .map(|t| {
            Check::fail(
                t.program(),
                format!(
                    "not found on PATH\nfix: {}",
                    crate::tools::catalogue::install_hint(*t)
                ),
            )
        })
        .collect();
    let present = |t: Tool| !missing.contains(&t) && wanted.contains(&t);

    let (vagrant, dm, docker, provider, boxes) = tokio::join!(
        version_check(
            runner,
            present(Tool::Vagrant),
            Tool::Vagrant,
            &["--version"]
        ),
        version_check(
            runner,
            present(Tool::DockerMachine),
            Tool::DockerMachine,
            &["--version"]
        ),
        version_check(runner, present(Tool::Docker), Tool::Docker, &["--version"]),
        provider_checks(runner, lab, &present),
        box_check(runner, lab, &present),
    );
    let vbox = provider.1;
    let vagrant_version = vagrant
        .as_ref()
        .filter(|c| c.passed)
        .and_then(|c| version::parse_version(&c.detail));
    let dm = dm.map(|c| {
        if c.passed {
            docker_machine_check(&c.detail, compat::today())
        } else {
            c
        }
    });
    checks.extend([vagrant, dm, docker].into_iter().flatten());
    checks.extend(provider.0);
    if let (Some(vagrant), Some(vbox)) = (vagrant_version, vbox) {
        checks.push(pairing_check(vagrant, vbox));
    }
    if lab.provider == Provider::Virtualbox {
        checks.push(arch_check(lab, version::host_arch(), vbox));
    }
    checks.extend(boxes);
    checks.extend(combination_checks(lab));
    checks
}

/// Vagrant and VirtualBox move together: each VirtualBox line needs a
/// Vagrant that knows it (Debian's Vagrant 2.3.4 stops at 7.0).
pub fn pairing_check(vagrant: Version, vbox: Version) -> Check {
    let (v, b) = (compat::show(vagrant), compat::show(vbox));
    match compat::pairing(vagrant, vbox) {
        compat::Pairing::Works => Check::pass("Vagrant and VirtualBox", format!("Vagrant {v} drives VirtualBox {b}")),
        compat::Pairing::VagrantTooOld { needs } => Check::fail(
            "Vagrant and VirtualBox",
            format!(
                "Vagrant {v} does not drive VirtualBox {b}: that needs Vagrant {} or later\nfix: install Vagrant {} or later from HashiCorp's releases, or a VirtualBox that Vagrant {v} knows",
                compat::show(needs),
                compat::show(needs)
            ),
        ),
        compat::Pairing::Unknown => Check::warn(
            "Vagrant and VirtualBox",
            format!("VirtualBox {b} is newer than any lab knows; Vagrant {v} may refuse it\nfix: if `lab up` says the provider is unusable, install the Vagrant release that lists VirtualBox {}.{}", vbox.0, vbox.1),
        ),
    }
}

/// The box must come for the host's architecture (an Apple Silicon Mac
/// runs arm64 boxes only, and those from VirtualBox 7.1 on).
pub fn arch_check(lab: &Lab, host: &str, vbox: Option<Version>) -> Check {
    let arches = &lab.profile.architectures;
    if !arches.iter().any(|a| a == host) {
        return Check::fail(
            "architecture",
            format!(
                "this host is {host}, and box `{}` comes for {} only\nfix: use a box published for {host} (the `bento-ubuntu-2404` profile has amd64 and arm64)",
                lab.profile.name,
                arches.join(", ")
            ),
        );
    }
    if host == "arm64" && vbox.is_some_and(|v| v < compat::VIRTUALBOX_FOR_ARM64) {
        return Check::fail(
            "architecture",
            format!(
                "arm64 guests need VirtualBox {} or later\nfix: install VirtualBox 7.1 or later for Apple Silicon (and Vagrant 2.4.2 or later)",
                compat::show(compat::VIRTUALBOX_FOR_ARM64)
            ),
        );
    }
    Check::pass(
        "architecture",
        format!("{host}, and box `{}` comes for it", lab.profile.name),
    )
}

/// docker-machine: the last Docker release, or GitLab's fork, which is
/// deprecated: a class should hear of its end of life before it comes.
pub fn docker_machine_check(text: &str, today: u64) -> Check {
    let way_on = "the way on: engine = \"native\" in lab.toml (Debian's engine, lab's own TLS, no docker-machine)";
    match compat::docker_machine_build(text) {
        Some((_, true)) => {
            let (day, eol) = compat::DOCKER_MACHINE_FORK_EOL;
            let when = if today >= eol {
                format!("reached its end of life on {day}: no more fixes")
            } else {
                format!(
                    "deprecated by GitLab, end of life on {day} ({} days from today)",
                    eol - today
                )
            };
            Check::warn(
                "docker-machine",
                format!("{} (GitLab's fork) {when}\nfix: {way_on}", text.trim()),
            )
        }
        Some(((0, 16, 2), false)) => Check::pass(
            "docker-machine",
            format!(
                "{} (Docker's last release, 2019; unmaintained)",
                text.trim()
            ),
        ),
        Some((v, false)) => Check::warn(
            "docker-machine",
            format!(
                "{} is older than 0.16.2, the version lab is tested with\nfix: {}",
                compat::show(v),
                crate::tools::catalogue::install_hint(Tool::DockerMachine)
            ),
        ),
        None => Check::warn(
            "docker-machine",
            format!(
                "`{}` is not a docker-machine version lab knows\nfix: {}",
                text.trim(),
                crate::tools::catalogue::install_hint(Tool::DockerMachine)
            ),
        ),
    }
}

async fn version_check(runner: &Runner, present: bool, tool: Tool, args: &[&str]) -> Option<Check> {
    if !present {
        return None;
    }
    Some(
        match runner.query(&Cmd::new(tool, args.iter().copied())).await {
            Ok(out) => Check::pass(tool.program(), out.stdout.trim().to_string()),
            Err(e) => Check::fail(tool.program(), format!("{e}")),
        },
    )
}

/// VirtualBox: version, allowed host-only networks, memory, disk. Docker
/// provider: the host's engine.
async fn provider_checks(
    runner: &Runner,
    lab: &Lab,
    present: &dyn Fn(Tool) -> bool,
) -> (Vec<Check>, Option<Version>) {
    let mut checks = Vec::new();
    let mut vbox = None;
    match lab.provider {
        Provider::Virtualbox => {
            if present(Tool::VBoxManage) {
                match runner
                    .query(&Cmd::new(Tool::VBoxManage, ["--version"]))
                    .await
                {
                    Ok(out) => {
                        let text = out.stdout.trim().to_string();
                        vbox = version::parse_version(&text);
                        checks.push(Check::pass("VirtualBox", text.clone()));
                        // Only VirtualBox on Linux and macOS keeps the list of
                        // allowed host-only ranges (networks.conf); on Windows
                        // any range may be used.
                        if cfg!(unix)
                            && version::parse_version(&text).is_some_and(vbox_restricts_networks)
                        {
                            checks.push(network_check(lab));
                        }
                    }
                    Err(e) => checks.push(Check::fail("VirtualBox", e.to_string())),
                }
            }
            checks.push(memory_check(lab));
            checks.push(cpu_check(lab));
            checks.push(disk_check("disk for boxes", vagrant_home(), 4));
        }
        Provider::Libvirt => {
            if present(Tool::Vagrant) {
                checks.push(
                    match runner.query(&Cmd::new(Tool::Vagrant, ["plugin", "list"])).await {
                        Ok(out) => match libvirt_plugin(&out.stdout) {
                            Some(line) => Check::pass("vagrant-libvirt", line),
                            None => Check::fail(
                                "vagrant-libvirt",
                                "Vagrant has no vagrant-libvirt plugin\nfix: `sudo apt-get install vagrant-libvirt` (Debian, Ubuntu), or `vagrant plugin install vagrant-libvirt`",
                            ),
                        },
                        Err(e) => Check::fail("vagrant-libvirt", e.to_string()),
                    },
                );
            }
            checks.push(libvirtd_check());
            checks.push(kvm_check(lab));
            checks.push(memory_check(lab));
            checks.push(cpu_check(lab));
            checks.push(disk_check(
                "disk for VM images",
                PathBuf::from("/var/lib/libvirt/images"),
                4,
            ));
        }
        Provider::Docker => {
            if present(Tool::Docker) {
                let info = Cmd::new(
                    Tool::Docker,
                    ["info", "--format", "{{.ServerVersion}} {{.DockerRootDir}}"],
                );
                match runner.query(&info).await {
                    Ok(out) => {
                        let text = out.stdout.trim().to_string();
                        let (version, root) = text.split_once(' ').unwrap_or((&text, "/var/lib/docker"));
                        checks.push(Check::pass("Docker engine", format!("{version}, for the machines (provider \"docker\")")));
                        checks.push(disk_check("disk for machines", PathBuf::from(root), 2));
                    }
                    Err(e) => checks.push(Check::fail(
                        "Docker engine",
                        format!("the host's engine does not answer: {}\nfix: start it (`sudo systemctl start docker`, or `sudo dockerd &`)", e.stderr().trim()),
                    )),
                }
            }
        }
    }
    (checks, vbox)
}

/// libvirtd answers on its system socket (`qemu:///system`, what
/// vagrant-libvirt uses).
fn libvirtd_check() -> Check {
    const SOCKET: &str = "/var/run/libvirt/libvirt-sock";
    #[cfg(unix)]
    let answered = std::os::unix::net::UnixStream::connect(SOCKET);
    #[cfg(not(unix))]
    let answered: std::io::Result<()> = Err(std::io::ErrorKind::Unsupported.into());
    match answered {
        Ok(_) => Check::pass("libvirtd", format!("answers on {SOCKET}")),
        Err(e) => Check::fail(
            "libvirtd",
            format!("no answer on {SOCKET}: {e}\nfix: `sudo systemctl start libvirtd` (or `sudo libvirtd -d` without systemd), and be in group libvirt"),
        ),
    }
}

/// KVM, or QEMU's software emulation: which one lab.toml asks for, and
/// whether this host can give it.
fn kvm_check(lab: &Lab) -> Check {
    let opens = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let usable = kvm_usable(opens, &cpuinfo);
    match (lab.libvirt_driver, usable) {
        (crate::model::LibvirtDriver::Kvm, true) => {
            Check::pass("virtualisation", "KVM: /dev/kvm and the CPU's VMX/SVM")
        }
        (crate::model::LibvirtDriver::Kvm, false) => Check::fail(
            "virtualisation",
            format!(
                "KVM cannot run guests here ({})\nfix: set [libvirt] driver = \"qemu\" in lab.toml: QEMU's software emulation works anywhere, about ten times slower (a Debian VM boots in ~40 s and takes ~2 GiB of host memory)",
                if opens { "the CPU shows no VMX or SVM: a nested or paravirtual KVM" } else { "/dev/kvm cannot be opened by this user" }
            ),
        ),
        (crate::model::LibvirtDriver::Qemu, usable) => Check::warn(
            "virtualisation",
            format!(
                "QEMU's software emulation ([libvirt] driver = \"qemu\"): slow, a Debian VM boots in ~40 s and takes ~2 GiB of host memory{}",
                if usable { "\nfix: this host has KVM: driver = \"kvm\" is many times faster" } else { "" }
            ),
        ),
    }
}

/// VirtualBox 6.1.28+ refuses host-only networks outside its allowed ranges.
fn network_check(lab: &Lab) -> Check {
    let conf = std::fs::read_to_string("/etc/vbox/networks.conf").ok();
    let allowed = allowed_ranges(conf.as_deref());
    if subnet_allowed(&lab.subnet, &allowed) {
        Check::pass(
            "host-only network",
            format!("{} is allowed by VirtualBox", lab.subnet),
        )
    } else {
        Check::fail(
            "host-only network",
            format!(
                "VirtualBox 6.1.28+ refuses {} (allowed: {})\nfix: add this line to /etc/vbox/networks.conf, or choose a [network] subnet inside 192.168.56.0/21:\n* {}",
                lab.subnet,
                allowed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                lab.subnet
            ),
        )
    }
}

/// Each machine's CPUs must exist on this host: a VM asking for more than
/// there are does not start.
pub fn cpu_check(lab: &Lab) -> Check {
    let host = std::thread::available_parallelism().map_or(1, |n| n.get());
    if usize::try_from(lab.cpus).unwrap_or(usize::MAX) > host {
        Check::fail(
            "CPUs",
            format!("machines.cpus = {} is more than this host's {host} CPUs: each machine would ask for more than there is\nfix: lower [machines] cpus in {}", lab.cpus, lab.file.display()),
        )
    } else {
        Check::pass(
            "CPUs",
            format!("{} per machine, {host} on this host", lab.cpus),
        )
    }
}

fn memory_check(lab: &Lab) -> Check {
    let need = u64::from(lab.memory) * lab.machines.len() as u64;
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    let available = system.available_memory() / (1 << 20);
    match (available > 0).then_some(available) {
        Some(have) if have >= need => Check::pass("memory", format!("{need} MiB for {} machines, {have} MiB available", lab.machines.len())),
        Some(have) => Check::fail(
            "memory",
            format!("{need} MiB for {} machines, only {have} MiB available\nfix: lower [machines] memory or swarm.nodes in lab.toml, or close other VMs", lab.machines.len()),
        ),
        None => Check::warn("memory", "could not read the available memory"),
    }
}

fn vagrant_home() -> PathBuf {
    crate::tools::vagrant::home()
}

fn disk_check(name: &str, path: PathBuf, need_gib: u64) -> Check {
    // The directory may not exist yet; its nearest parent holds the space.
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(&path)
        .to_path_buf();
    match fs4::available_space(&existing) {
        Ok(bytes) => {
            let gib = bytes / (1 << 30);
            if gib >= need_gib {
                Check::pass(name, format!("{gib} GiB free in {}", existing.display()))
            } else {
                Check::fail(
                    name,
                    format!(
                        "{gib} GiB free in {}, {need_gib} GiB wanted\nfix: free some space there",
                        existing.display()
                    ),
                )
            }
        }
        Err(e) => Check::warn(
            name,
            format!("could not read free space of {}: {e}", existing.display()),
        ),
    }
}

/// The box (VirtualBox) or image (docker) is here, or will come from its
/// local copy, or from the internet.
async fn box_check(runner: &Runner, lab: &Lab, present: &dyn Fn(Tool) -> bool) -> Option<Check> {
    let local = crate::tools::vagrant::local_add(&lab.profile, &lab.root, lab.provider, None);
    match lab.provider {
        Provider::Virtualbox | Provider::Libvirt => {
            let name = lab.profile.vagrant_box.clone().unwrap_or_default();
            if !present(Tool::Vagrant) {
                return None;
            }
            let installed = runner
                .query(&crate::tools::vagrant::box_list())
                .await
                .map(|o| {
                    crate::tools::vagrant::box_installed(
                        &lab.profile,
                        lab.provider,
                        &crate::tools::vagrant::parse_box_list(&o.stdout),
                    )
                })
                .unwrap_or(false);
            Some(match (installed, local) {
                (true, _) => Check::pass("box", format!("{name} is installed")),
                (false, Some(add)) => Check::pass("box", format!("{name} will be added from its local copy: {add}")),
                (false, None) => Check::warn(
                    "box",
                    format!("{name} is not installed; `vagrant up` downloads it (needs the internet)\nfix for a class without internet: set box_file or box_url in its profile and run `lab box add`"),
                ),
            })
        }
        Provider::Docker => {
            let image = lab.profile.image.clone().unwrap_or_default();
            if !present(Tool::Docker) {
                return None;
            }
            let here = runner
                .query(&crate::tools::images::inspect_on_host(&image))
                .await
                .is_ok();
            Some(match (here, local) {
                (true, _) => Check::pass("image", format!("{image} is on this host")),
                (false, Some(add)) => Check::pass("image", format!("{image} will be loaded: {add}")),
                (false, None) => Check::fail(
                    "image",
                    format!("{image} is not on this host\nfix: build it offline with `sudo boxes/docker/build-image.sh {image}`, or `docker build -t {image} boxes/docker` with a registry"),
                ),
            })
        }
    }
}

/// What lab.toml asks for against what the box can do.
/// Classic Swarm needs an engine with cluster-store, which Docker 23
/// removed: where docker-machine installs the engine, only an installer
/// pinned below 23 can give it one; get.docker.com installs today's.
pub fn engine_pin_check(lab: &Lab) -> Option<Check> {
    if lab.mode != Mode::Classic || lab.profile.docker_preinstalled {
        return None;
    }
    Some(if lab.install_url == crate::model::DEFAULT_INSTALL_URL {
        Check::fail(
            "engine and mode",
            format!(
                "classic Swarm needs cluster-store, and {} installs Docker 23 or later, which has none\nfix: set mode = \"swarm\", or pin an engine below 23: [docker] install_url = \"https://releases.rancher.com/install-docker/20.10.sh\" (see examples/seed-2015/lab.toml)",
                crate::model::DEFAULT_INSTALL_URL
            ),
        )
    } else {
        Check::pass(
            "engine and mode",
            format!(
                "classic Swarm, with the engine from {} (it must be below Docker 23)",
                lab.install_url
            ),
        )
    })
}

fn combination_checks(lab: &Lab) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(check) = engine_pin_check(lab) {
        checks.push(check);
    } else if lab.mode == Mode::Classic && !lab.profile.cluster_store {
        checks.push(Check::warn(
            "engine and mode",
            format!(
                "classic Swarm needs cluster-store, which the engines of box `{}` do not have (Docker 23 removed it; Debian's 20.10 refuses it)\nfix: set mode = \"swarm\" (and engine = \"native\" without docker-machine)",
                lab.profile.name
            ),
        ));
    } else {
        checks.push(Check::pass(
            "engine and mode",
            format!(
                "{} with {} mode",
                crate::reconcile::driver::of(lab).describe(),
                mode_name(lab.mode)
            ),
        ));
    }
    if lab.interface == lab.profile.interface {
        checks.push(Check::pass(
            "interface",
            format!("{} (the box profile's)", lab.interface),
        ));
    } else {
        checks.push(Check::warn(
            "interface",
            format!(
                "lab.toml says {}, box profile `{}` says {}\nfix: remove [network] interface unless the box really names it {}",
                lab.interface, lab.profile.name, lab.profile.interface, lab.interface
            ),
        ));
    }
    checks
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Classic => "classic",
        Mode::Swarm => "swarm",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(text: &str) -> Lab {
        crate::model::parse(std::path::Path::new("/nonexistent/lab.toml"), text).unwrap()
    }

    #[test]
    fn more_cpus_than_the_host_has_fail_doctor() {
        let host = std::thread::available_parallelism().unwrap().get();
        let check = cpu_check(&lab(&format!(
            "box = \"x/y\"\n[machines]\ncpus = {}\n",
            host + 1
        )));
        assert!(
            !check.passed && check.detail.contains("more than this host's"),
            "{}",
            check.line()
        );
        assert!(cpu_check(&lab("box = \"x/y\"\n")).passed);
    }

    #[test]
    fn vagrant_and_virtualbox_pairs_from_recorded_versions() {
        let debian = version::parse_version("Vagrant 2.3.4\n").unwrap();
        let check = pairing_check(debian, version::parse_version("7.1.4r165100").unwrap());
        assert!(!check.passed, "{}", check.line());
        assert!(
            check.detail.contains("needs Vagrant 2.4.2 or later"),
            "{}",
            check.line()
        );
        assert!(pairing_check(debian, (7, 0, 14)).passed);
        let check = pairing_check((2, 4, 9), (7, 3, 0));
        assert!(check.passed && check.warning, "{}", check.line());
    }

    #[test]
    fn an_amd64_box_on_an_arm64_host_fails_before_anything_downloads() {
        let seed = lab("box = \"ubuntu1504\"\nmode = \"swarm\"\n");
        let check = arch_check(&seed, "arm64", Some((7, 1, 6)));
        assert!(
            !check.passed && check.detail.contains("amd64 only"),
            "{}",
            check.line()
        );
        assert!(arch_check(&seed, "amd64", Some((7, 0, 14))).passed);
        let bento = lab("box = \"bento-ubuntu-2404\"\nmode = \"swarm\"\n");
        assert!(arch_check(&bento, "arm64", Some((7, 1, 6))).passed);
        let old = arch_check(&bento, "arm64", Some((7, 0, 14)));
        assert!(
            !old.passed && old.detail.contains("7.1.6"),
            "{}",
            old.line()
        );
    }

    #[test]
    fn docker_machine_builds_and_the_gitlab_fork() {
        let may_2026 = 20_958 - 365;
        let docker =
            docker_machine_check("docker-machine version 0.16.2, build bd45ab13\n", may_2026);
        assert!(docker.passed && !docker.warning, "{}", docker.line());
        assert!(
            docker.detail.contains("Docker's last release"),
            "{}",
            docker.line()
        );
        let fork = docker_machine_check(
            "docker-machine version 0.16.2-gitlab.19, build 2e1a3a1d\n",
            may_2026,
        );
        assert!(fork.passed && fork.warning, "{}", fork.line());
        for said in [
            "0.16.2-gitlab.19",
            "GitLab's fork",
            "end of life on 2027-05-20",
            "365 days",
            "engine = \"native\"",
        ] {
            assert!(fork.detail.contains(said), "{said}: {}", fork.line());
        }
        let after =
            docker_machine_check("docker-machine version 0.16.2-gitlab.40, build x", 20_958);
        assert!(
            after.warning
                && after
                    .detail
                    .contains("reached its end of life on 2027-05-20"),
            "{}",
            after.line()
        );
        let old = docker_machine_check("docker-machine version 0.15.0, build b48dc28d", may_2026);
        assert!(old.warning, "{}", old.line());
    }

    #[test]
    fn classic_mode_needs_an_engine_pinned_below_23() {
        let unpinned = lab("box = \"ubuntu1504\"\n");
        let check = engine_pin_check(&unpinned).unwrap();
        assert!(
            !check.passed && check.detail.contains("install_url"),
            "{}",
            check.line()
        );
        let pinned = lab("box = \"ubuntu1504\"\n[docker]\ninstall_url = \"https://releases.rancher.com/install-docker/20.10.sh\"\n");
        assert!(engine_pin_check(&pinned).unwrap().passed);
        assert!(engine_pin_check(&lab("box = \"ubuntu1504\"\nmode = \"swarm\"\n")).is_none());
        assert!(
            engine_pin_check(&lab("provider = \"docker\"\nbox = \"debian-docker\"\n")).is_none()
        );
    }
}
