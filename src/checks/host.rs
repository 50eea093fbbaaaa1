//! `lab doctor`'s checks of the host, and the same before `lab up`: the
//! programs and their versions, the provider, the network VirtualBox
//! allows, memory, disk, the box, and lab.toml's combinations.

use std::path::PathBuf;

use crate::checks::doctor::*;
use crate::checks::report::Check;
use crate::model::{Lab, Mode, Provider};
use crate::process::runner::{Cmd, Runner, Tool};

/// The programs doctor looks for: what the lab drives, and VirtualBox's.
pub fn wanted(lab: &Lab) -> Vec<Tool> {
    let mut wanted = Tool::needed_by(lab);
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
                format!("not found on PATH\nfix: {}", t.install_hint()),
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
    checks.extend([vagrant, dm, docker].into_iter().flatten());
    checks.extend(provider);
    checks.extend(boxes);
    checks.extend(combination_checks(lab));
    checks
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
async fn provider_checks(runner: &Runner, lab: &Lab, present: &dyn Fn(Tool) -> bool) -> Vec<Check> {
    let mut checks = Vec::new();
    match lab.provider {
        Provider::Virtualbox => {
            if present(Tool::VBoxManage) {
                match runner
                    .query(&Cmd::new(Tool::VBoxManage, ["--version"]))
                    .await
                {
                    Ok(out) => {
                        let text = out.stdout.trim().to_string();
                        checks.push(Check::pass("VirtualBox", text.clone()));
                        if parse_version(&text).is_some_and(vbox_restricts_networks) {
                            checks.push(network_check(lab));
                        }
                    }
                    Err(e) => checks.push(Check::fail("VirtualBox", e.to_string())),
                }
            }
            checks.push(memory_check(lab));
            checks.push(disk_check("disk for boxes", vagrant_home(), 4));
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
    checks
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

fn memory_check(lab: &Lab) -> Check {
    let need = u64::from(lab.memory) * lab.machines.len() as u64;
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    match mem_available_mib(&meminfo) {
        Some(have) if have >= need => Check::pass("memory", format!("{need} MiB for {} machines, {have} MiB available", lab.machines.len())),
        Some(have) => Check::fail(
            "memory",
            format!("{need} MiB for {} machines, only {have} MiB available\nfix: lower [machines] memory or swarm.nodes in lab.toml, or close other VMs", lab.machines.len()),
        ),
        None => Check::warn("memory", "could not read /proc/meminfo"),
    }
}

fn vagrant_home() -> PathBuf {
    std::env::var_os("VAGRANT_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".vagrant.d")))
        .unwrap_or_else(|| PathBuf::from("."))
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
    let local = crate::tools::vagrant::local_add(&lab.profile, &lab.root, lab.provider);
    match lab.provider {
        Provider::Virtualbox => {
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
            let inspect = Cmd::new(
                Tool::Docker,
                ["image", "inspect", "--format", "{{.Id}}", &image],
            );
            let here = runner.query(&inspect).await.is_ok();
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
fn combination_checks(lab: &Lab) -> Vec<Check> {
    let mut checks = Vec::new();
    if lab.engine.uses_docker_machine() && lab.mode == Mode::Classic && !lab.profile.cluster_store {
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
                lab.engine.describe(),
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
