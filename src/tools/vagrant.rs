//! Vagrant 2.x: the commands lab sends and parsers for what it answers.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::boxes::BoxProfile;
use crate::model::{Lab, Provider};
use crate::process::process_builder::Cmd;
use crate::process::tool::Tool;

/// A machine's state as Vagrant names it, read once here: the states lab
/// acts on, and any other (`poweroff`, `stopped`, `saved`, `aborted`, ...)
/// kept as Vagrant's id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VmState {
    #[default]
    NotCreated,
    Running,
    /// The docker provider's record of a create that never finished.
    Preparing,
    Other(String),
}

impl VmState {
    pub fn parse(id: &str) -> VmState {
        match id {
            "not_created" | "" => VmState::NotCreated,
            "running" => VmState::Running,
            "preparing" => VmState::Preparing,
            other => VmState::Other(other.to_string()),
        }
    }

    /// Vagrant's own id for it.
    pub fn as_str(&self) -> &str {
        match self {
            VmState::NotCreated => "not_created",
            VmState::Running => "running",
            VmState::Preparing => "preparing",
            VmState::Other(id) => id,
        }
    }
}

impl std::fmt::Display for VmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VmState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One machine's line in `vagrant status --machine-readable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmStatus {
    pub name: String,
    pub provider: String,
    pub state: VmState,
}

impl VmStatus {
    pub fn is_running(&self) -> bool {
        self.state == VmState::Running
    }

    pub fn is_created(&self) -> bool {
        self.state != VmState::NotCreated
    }
}

/// The SSH settings of one machine, from `vagrant ssh-config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshConfig {
    pub host: String,
    pub hostname: String,
    pub user: String,
    pub port: u16,
    pub identity_files: Vec<PathBuf>,
}

impl SshConfig {
    pub fn key(&self) -> Option<&Path> {
        self.identity_files.first().map(PathBuf::as_path)
    }
}

/// Parses `vagrant status --machine-readable` (always exit 0), keeping
/// Vagrantfile order. Lines are `TIMESTAMP,TARGET,TYPE,DATA...`.
pub fn parse_status(text: &str) -> Vec<VmStatus> {
    let mut machines: Vec<VmStatus> = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(4, ',');
        let (Some(_ts), Some(target), Some(kind), Some(data)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if target.is_empty() || !matches!(kind, "provider-name" | "state") {
            continue;
        }
        let index = match machines.iter().position(|m| m.name == target) {
            Some(i) => i,
            None => {
                machines.push(VmStatus {
                    name: target.to_string(),
                    provider: String::new(),
                    state: VmState::NotCreated,
                });
                machines.len() - 1
            }
        };
        let value = data.replace("%!(VAGRANT_COMMA)", ",");
        match kind {
            "provider-name" => machines[index].provider = value,
            _ => machines[index].state = VmState::parse(&value),
        }
    }
    machines
}

/// Parses `vagrant ssh-config` output: one `Host` block per running machine.
/// Vagrant stops at the first machine that is not running and exits 1, so
/// the caller keeps whatever blocks arrived.
pub fn parse_ssh_config(text: &str) -> Vec<SshConfig> {
    let mut blocks: Vec<SshConfig> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let Some((key, value)) = trimmed.split_once(char::is_whitespace) else {
            continue;
        };
        let value = value.trim();
        if key == "Host" {
            blocks.push(SshConfig {
                host: value.to_string(),
                hostname: String::new(),
                user: String::new(),
                port: 22,
                identity_files: Vec::new(),
            });
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            continue;
        };
        match key {
            "HostName" => block.hostname = value.to_string(),
            "User" => block.user = value.to_string(),
            "Port" => block.port = value.parse().unwrap_or(22),
            // Quoted only when the path holds a space.
            "IdentityFile" => block.identity_files.push(PathBuf::from(
                value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value),
            )),
            _ => {}
        }
    }
    blocks
}

/// `vagrant ARGS` in the lab's state directory, where its Vagrantfile is.
pub fn vagrant(lab: &Lab, args: &[&str]) -> Cmd {
    Cmd::new(Tool::Vagrant, args.iter().copied()).env("VAGRANT_CWD", lab.state_dir())
}

/// `vagrant up` for `machines` (none named: all), in Vagrant's
/// machine-readable lines, so that lab sees each machine's up end while
/// the others still come up (see [`up_line`]). Only machines that are not
/// running are named: Vagrant locks each machine it brings up, and lab
/// reads the running ones' SSH settings meanwhile.
pub fn up(lab: &Lab, machines: &[String]) -> Cmd {
    let provider = format!("--provider={}", lab.provider);
    let mut args = vec!["up", &provider, "--machine-readable"];
    if lab.one_by_one {
        args.push("--no-parallel");
    }
    args.extend(machines.iter().map(String::as_str));
    vagrant(lab, &args)
}

/// What one line of `vagrant up --machine-readable` says, as far as lab
/// listens: `TIME,TARGET,TYPE,DATA...`, commas in the data written
/// `%!(VAGRANT_COMMA)` and line breaks `\n` (Vagrant's ui.rb).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpLine {
    /// The machine's `up` action ended: it is up and provisioned.
    Up(String),
    /// A line for a person, about one machine (`None`: the whole run).
    Say {
        machine: Option<String>,
        text: String,
    },
    /// Why Vagrant stopped (`error-exit`): its message, as it would print it.
    Error(String),
    Other,
}

fn unescape(data: &str) -> String {
    data.replace("%!(VAGRANT_COMMA)", ",")
        .replace("\\n", "\n")
        .replace("\\r", "")
}

/// The snapshots `vagrant snapshot list --machine-readable MACHINE` names:
/// one `ui,detail` line each after an empty `ui,output` (list.rb), or the
/// `list_none` message when there are none.
pub fn parse_snapshot_list(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.trim_end_matches('\r').splitn(5, ',').collect();
        let [_, _, "ui", kind, message] = cells.as_slice() else {
            continue;
        };
        let message = unescape(message);
        match *kind {
            "output" if message.starts_with("No snapshots have been taken yet") => {
                return Vec::new()
            }
            "detail" if !message.trim().is_empty() => names.push(message.trim().to_string()),
            _ => {}
        }
    }
    names
}

pub fn up_line(line: &str) -> UpLine {
    let mut cells = line.trim_end_matches('\r').splitn(4, ',');
    let (Some(time), Some(target), Some(kind)) = (cells.next(), cells.next(), cells.next()) else {
        return UpLine::Other;
    };
    if time.is_empty() || !time.bytes().all(|b| b.is_ascii_digit()) {
        return UpLine::Other;
    }
    let data: Vec<&str> = cells.next().unwrap_or("").split(',').collect();
    let machine = (!target.is_empty()).then(|| target.to_string());
    match (kind, data.as_slice()) {
        ("action", ["up", "end"]) => machine.map_or(UpLine::Other, UpLine::Up),
        ("ui", [_, text]) => UpLine::Say {
            machine,
            text: unescape(text),
        },
        ("error-exit", [_, message]) => UpLine::Error(unescape(message)),
        _ => UpLine::Other,
    }
}

/// Vagrant's own words for a failed `vagrant up --machine-readable`: its
/// `error-exit` messages (it writes nothing on stderr in that mode).
pub fn up_error(stdout: &str) -> Option<String> {
    let errors: Vec<String> = stdout
        .lines()
        .filter_map(|l| match up_line(l) {
            UpLine::Error(message) => Some(message),
            _ => None,
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("\n"))
}

pub fn status(lab: &Lab) -> Cmd {
    vagrant(lab, &["status", "--machine-readable"])
}

pub fn ssh_config(lab: &Lab, machine: Option<&str>) -> Cmd {
    match machine {
        Some(name) => vagrant(lab, &["ssh-config", name]),
        None => vagrant(lab, &["ssh-config"]),
    }
}

/// `vagrant ssh-config` for these machines, all running: one Ruby start-up.
pub fn ssh_config_of(lab: &Lab, machines: &[String]) -> Cmd {
    let mut args = vec!["ssh-config"];
    args.extend(machines.iter().map(String::as_str));
    vagrant(lab, &args)
}

pub fn halt(lab: &Lab, machines: &[String]) -> Cmd {
    let mut args = vec!["halt"];
    args.extend(machines.iter().map(String::as_str));
    vagrant(lab, &args)
}

/// Vagrant's name for a snapshot lab takes: `lab-NAME`, apart from those
/// a user takes by hand.
pub fn snapshot_name(name: &str) -> String {
    format!("lab-{name}")
}

/// Pauses machines where they are (a VM's memory kept).
pub fn suspend(lab: &Lab, machines: &[String]) -> Cmd {
    let mut args = vec!["suspend"];
    args.extend(machines.iter().map(String::as_str));
    vagrant(lab, &args)
}

pub fn resume(lab: &Lab, machines: &[String]) -> Cmd {
    let mut args = vec!["resume", "--no-provision"];
    args.extend(machines.iter().map(String::as_str));
    vagrant(lab, &args)
}

pub fn snapshot_save(lab: &Lab, machine: &str, snapshot: &str) -> Cmd {
    vagrant(lab, &["snapshot", "save", machine, snapshot])
}

/// Back to the snapshot, left as it was taken (paused), not started.
pub fn snapshot_restore(lab: &Lab, machine: &str, snapshot: &str) -> Cmd {
    vagrant(
        lab,
        &[
            "snapshot",
            "restore",
            "--no-provision",
            "--no-start",
            machine,
            snapshot,
        ],
    )
}

pub fn snapshot_delete(lab: &Lab, machine: &str, snapshot: &str) -> Cmd {
    vagrant(lab, &["snapshot", "delete", machine, snapshot])
}

pub fn snapshot_list(lab: &Lab, machine: &str) -> Cmd {
    vagrant(lab, &["snapshot", "list", "--machine-readable", machine])
}

/// Powers machines off without a shutdown, as a crash would.
pub fn halt_force(lab: &Lab, machines: &[String]) -> Cmd {
    let mut args = vec!["halt", "--force"];
    args.extend(machines.iter().map(String::as_str));
    vagrant(lab, &args)
}

/// Vagrant's own directory (`VAGRANT_HOME`, else `~/.vagrant.d`).
pub fn home() -> std::path::PathBuf {
    std::env::var_os("VAGRANT_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".vagrant.d")))
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// The directories whose Vagrantfile made `name` with `provider`, from
/// Vagrant's machine index (`data/machine-index/index` in its home), which
/// outlives a project's `.vagrant` (the list `vagrant global-status` shows).
pub fn indexed_in(index: &str, name: &str, provider: &str) -> Vec<std::path::PathBuf> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(index) else {
        return Vec::new();
    };
    let Some(machines) = value.get("machines").and_then(|m| m.as_object()) else {
        return Vec::new();
    };
    machines
        .values()
        .filter(|m| m["name"] == name && m["provider"] == provider)
        .filter_map(|m| m["vagrantfile_path"].as_str().map(std::path::PathBuf::from))
        .collect()
}

pub fn destroy(lab: &Lab) -> Cmd {
    vagrant(lab, &["destroy", "-f"])
}

/// `vagrant destroy -f` of some of the lab's machines.
pub fn destroy_machines(lab: &Lab, machines: &[String]) -> Cmd {
    let mut args = vec!["destroy", "-f"];
    args.extend(machines.iter().map(String::as_str));
    vagrant(lab, &args)
}

/// One box Vagrant has installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledBox {
    pub name: String,
    pub provider: String,
    pub version: String,
}

pub fn version() -> Cmd {
    Cmd::new(Tool::Vagrant, ["--version"])
}

pub fn box_list() -> Cmd {
    Cmd::new(Tool::Vagrant, ["box", "list", "--machine-readable"])
}

/// `vagrant box list --machine-readable`: `box-name`, `box-provider` and
/// `box-version` lines, in that order, per box.
pub fn parse_box_list(text: &str) -> Vec<InstalledBox> {
    let mut boxes: Vec<InstalledBox> = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(4, ',');
        let (_, _, kind, data) = (fields.next(), fields.next(), fields.next(), fields.next());
        let data = data.unwrap_or_default().to_string();
        match kind {
            Some("box-name") => boxes.push(InstalledBox {
                name: data,
                provider: String::new(),
                version: String::new(),
            }),
            Some("box-provider") => {
                if let Some(b) = boxes.last_mut() {
                    b.provider = data;
                }
            }
            Some("box-version") => {
                if let Some(b) = boxes.last_mut() {
                    b.version = data;
                }
            }
            _ => {}
        }
    }
    boxes
}

/// `vagrant box add` from a local `.box` file (named, version 0) or from a
/// class server's metadata JSON (which names the box and its versions).
/// `vagrant box add` of a local file, for the lab's provider and, where
/// Vagrant knows architectures (2.4), for this host's.
pub fn box_add_file(name: &str, file: &Path, provider: Provider, arch: Option<&str>) -> Cmd {
    let mut args = vec![
        "box".to_string(),
        "add".into(),
        "--name".into(),
        name.into(),
    ];
    args.extend(provider_and_arch(provider, arch));
    args.push(file.display().to_string());
    Cmd::new(Tool::Vagrant, args)
}

pub fn box_add_url(
    url: &str,
    version: Option<&str>,
    provider: Provider,
    arch: Option<&str>,
) -> Cmd {
    let mut args = vec!["box".to_string(), "add".into()];
    if let Some(v) = version {
        args.extend(["--box-version".into(), v.into()]);
    }
    args.extend(provider_and_arch(provider, arch));
    args.push(url.into());
    Cmd::new(Tool::Vagrant, args)
}

fn provider_and_arch(provider: Provider, arch: Option<&str>) -> Vec<String> {
    let mut args = vec!["--provider".to_string(), provider.as_str().into()];
    if let Some(a) = arch {
        args.extend(["--architecture".into(), a.into()]);
    }
    args
}

/// The architecture to name to `vagrant box add`: this host's, from
/// Vagrant 2.4 on (bento #1663: its own guess can miss the box's build);
/// none before 2.4, which has no `--architecture`.
pub fn box_arch(vagrant: Option<crate::model::version::Version>) -> Option<&'static str> {
    vagrant
        .filter(|v| *v >= (2, 4, 0))
        .map(|_| crate::model::version::host_arch())
}

/// What a box profile needs of Vagrant (or of docker, for the docker
/// provider's image): its local copy added, and whether it is there.
/// The command that puts this box (or image) on the host from its local
/// copy, the file first, then the class server; `None` when the profile
/// names neither or the file is not there. `arch`: see [`box_arch`].
pub fn local_add(
    profile: &BoxProfile,
    root: &Path,
    provider: Provider,
    arch: Option<&str>,
) -> Option<Cmd> {
    match provider {
        Provider::Virtualbox | Provider::Libvirt => {
            let name = profile.vagrant_box.as_deref()?;
            let file = profile.box_file.as_ref().map(|f| root.join(f));
            match (file, &profile.box_url) {
                (Some(file), _) if file.exists() => Some(box_add_file(name, &file, provider, arch)),
                (_, Some(url)) => Some(box_add_url(
                    url,
                    profile.box_version.as_deref(),
                    provider,
                    arch,
                )),
                _ => None,
            }
        }
        Provider::Docker => {
            let file = root.join(profile.image_file.as_ref()?);
            file.exists()
                .then(|| crate::tools::images::load_on_host(&file))
        }
    }
}

/// Whether Vagrant's installed boxes hold this profile's box for `provider`
/// (a box name is published per provider: VirtualBox's is not libvirt's).
pub fn box_installed(profile: &BoxProfile, provider: Provider, boxes: &[InstalledBox]) -> bool {
    installed_box(profile, provider, boxes).is_some()
}

/// The installed box this profile uses for `provider`: its pinned version,
/// or the newest one (Vagrant lists versions oldest first).
pub fn installed_box<'a>(
    profile: &BoxProfile,
    provider: Provider,
    boxes: &'a [InstalledBox],
) -> Option<&'a InstalledBox> {
    boxes.iter().rfind(|b| {
        Some(b.name.as_str()) == profile.vagrant_box.as_deref()
            && b.provider == provider.as_str()
            && profile
                .box_version
                .as_deref()
                .is_none_or(|v| v == b.version)
    })
}

/// The docker provider's containers, asked of this host's engine in one
/// call: what Vagrant's docker provider asks itself for `vagrant status`
/// and `vagrant ssh-config`, without Vagrant's Ruby start-up.
pub fn inspect_containers(ids: &[String]) -> Cmd {
    let mut args = vec![
        "inspect".to_string(),
        "--type".into(),
        "container".into(),
        "--format".into(),
        "{{.Id}}|{{.State.Running}}|{{.NetworkSettings.IPAddress}}|{{json .NetworkSettings.Ports}}|{{json .NetworkSettings.Networks}}"
            .into(),
    ];
    args.extend(ids.iter().cloned());
    Cmd::new(Tool::Docker, args).query()
}

/// One container as the docker provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub running: bool,
    /// Where SSH answers: a published port 22 (its host address and port),
    /// else the container's address and port 22.
    pub ssh: Option<(String, u16)>,
    /// Its address on each Docker network it is on (a private network of
    /// Vagrant's is one).
    pub addresses: Vec<std::net::Ipv4Addr>,
}

/// Parses [`inspect_containers`]'s lines.
pub fn parse_containers(text: &str) -> Vec<Container> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(5, '|');
            let id = fields.next()?.trim().to_string();
            let running = fields.next()? == "true";
            let ip = fields.next()?.trim().to_string();
            let ports: serde_json::Value =
                serde_json::from_str(fields.next().unwrap_or("{}")).unwrap_or_default();
            let networks: serde_json::Value =
                serde_json::from_str(fields.next().unwrap_or("{}")).unwrap_or_default();
            let addresses = networks
                .as_object()
                .into_iter()
                .flat_map(|n| n.values())
                .filter_map(|n| n.get("IPAddress")?.as_str()?.parse().ok())
                .collect();
            let published = ports
                .get("22/tcp")
                .and_then(|p| p.as_array())
                .and_then(|p| p.first())
                .and_then(|p| {
                    let host = p.get("HostIp")?.as_str()?.to_string();
                    let port = p.get("HostPort")?.as_str()?.parse().ok()?;
                    Some((host, port))
                });
            let ssh = published.or_else(|| (!ip.is_empty()).then_some((ip, 22)));
            (!id.is_empty()).then_some(Container {
                id,
                running,
                ssh,
                addresses,
            })
        })
        .collect()
}

/// The docker provider's state of a machine from its record (`id`, which
/// reads "preparing" during a create) and its container: Vagrant 2.3's
/// `DockerProvider::Provider#state`.
pub fn docker_state(id: Option<&str>, containers: &[Container]) -> VmState {
    match id {
        None => VmState::NotCreated,
        Some("preparing") => VmState::Preparing,
        Some(id) => match containers.iter().find(|c| c.id == id) {
            Some(c) if c.running => VmState::Running,
            Some(_) => VmState::Other("stopped".into()),
            None => VmState::NotCreated,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_read_as_the_docker_provider_reads_them() {
        let text = "aaa|true|172.17.0.2|{}|{\"bridge\":{\"IPAddress\":\"172.17.0.2\"},\"vagrant_network_10.9.8.0/24\":{\"IPAddress\":\"10.9.8.2\"}}\nbbb|false||{}|{}\nccc|true|172.17.0.4|{\"22/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"2200\"}]}\nddd|true|172.17.0.5|{\"22/tcp\":null}|null\n";
        let c = parse_containers(text);
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].ssh, Some(("172.17.0.2".into(), 22)));
        assert_eq!(
            c[0].addresses,
            [
                "172.17.0.2".parse::<std::net::Ipv4Addr>().unwrap(),
                "10.9.8.2".parse().unwrap()
            ]
        );
        assert!(c[2].addresses.is_empty() && c[3].addresses.is_empty());
        assert!(!c[1].running && c[1].ssh.is_none());
        assert_eq!(c[2].ssh, Some(("127.0.0.1".into(), 2200)));
        assert_eq!(c[3].ssh, Some(("172.17.0.5".into(), 22)));
        assert_eq!(docker_state(Some("aaa"), &c), VmState::Running);
        assert_eq!(
            docker_state(Some("bbb"), &c),
            VmState::Other("stopped".into())
        );
        assert_eq!(docker_state(Some("gone"), &c), VmState::NotCreated);
        assert_eq!(docker_state(None, &c), VmState::NotCreated);
        assert_eq!(docker_state(Some("preparing"), &c), VmState::Preparing);
        assert!(parse_containers("garbage\n|true|x|{}").is_empty());
    }
    use crate::testdata::vagrant_stdout;

    #[test]
    fn box_add_names_the_provider_and_from_vagrant_2_4_the_architecture() {
        let file = Path::new("usb/class.box");
        let old = box_add_file(
            "class/box",
            file,
            Provider::Libvirt,
            box_arch(Some((2, 3, 4))),
        );
        assert_eq!(
            old.args,
            [
                "box",
                "add",
                "--name",
                "class/box",
                "--provider",
                "libvirt",
                "usb/class.box"
            ]
        );
        let host = crate::model::version::host_arch();
        let new = box_add_url(
            "http://class/box.json",
            Some("1.2.0"),
            Provider::Virtualbox,
            box_arch(Some((2, 4, 9))),
        );
        assert_eq!(
            new.args,
            [
                "box",
                "add",
                "--box-version",
                "1.2.0",
                "--provider",
                "virtualbox",
                "--architecture",
                host,
                "http://class/box.json"
            ]
        );
        assert_eq!(
            box_arch(None),
            None,
            "an unknown Vagrant gets no flag it may refuse"
        );
    }

    #[test]
    fn installed_boxes_from_vagrant_2_3_4() {
        // Recorded from `vagrant box list --machine-readable` here.
        let one = "1795609340,,ui,info,lab/fake (docker%!(VAGRANT_COMMA) 0)\n1795609340,,box-name,lab/fake\n1795609340,,box-provider,docker\n1795609340,,box-version,0\n";
        assert_eq!(
            parse_box_list(one),
            [InstalledBox {
                name: "lab/fake".into(),
                provider: "docker".into(),
                version: "0".into()
            }]
        );
        let none = "1795609342,,ui,warn,There are no installed boxes! Use `vagrant box add` to add some.\n";
        assert!(parse_box_list(none).is_empty());
    }

    #[test]
    fn status_of_a_mixed_environment() {
        let machines = parse_status(&vagrant_stdout("status-mixed"));
        let got: Vec<_> = machines
            .iter()
            .map(|m| (m.name.as_str(), m.provider.as_str(), m.state.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("consul", "docker", "running"),
                ("swarm-master", "docker", "not_created"),
                ("swarm-node01", "docker", "not_created")
            ]
        );
    }

    #[test]
    fn status_of_a_stopped_machine() {
        let machines = parse_status(&vagrant_stdout("status-stopped"));
        assert_eq!(machines[2].state, VmState::Other("stopped".into()));
        assert!(machines[2].is_created() && !machines[2].is_running());
        assert!(parse_status(&vagrant_stdout("status-after-destroy"))
            .iter()
            .all(|m| !m.is_created()));
    }

    #[test]
    fn ssh_config_of_all_machines() {
        let blocks = parse_ssh_config(&vagrant_stdout("ssh-config-all"));
        assert_eq!(blocks.len(), 3);
        assert_eq!(
            blocks[1],
            SshConfig {
                host: "swarm-master".into(),
                hostname: "127.0.0.1".into(),
                user: "vagrant".into(),
                port: 2201,
                identity_files: vec![PathBuf::from(
                    "/tmp/vlab/.vagrant/machines/swarm-master/docker/private_key"
                )],
            }
        );
    }

    #[test]
    fn ssh_config_keeps_the_blocks_that_arrived_before_the_error() {
        let blocks = parse_ssh_config(&vagrant_stdout("ssh-config-all-partial"));
        assert_eq!(
            blocks.iter().map(|b| b.host.as_str()).collect::<Vec<_>>(),
            ["consul"]
        );
        assert!(parse_ssh_config(&vagrant_stdout("ssh-config-not-created")).is_empty());
    }

    #[test]
    fn identity_file_with_a_space_is_unquoted() {
        let blocks = parse_ssh_config(
            "Host a\n  HostName h\n  User u\n  Port 22\n  IdentityFile \"/my dir/key\"\n",
        );
        assert_eq!(blocks[0].key(), Some(Path::new("/my dir/key")));
    }

    #[test]
    fn each_machine_is_seen_up_as_vagrant_finishes_it() {
        // Recorded here: Vagrant 2.3.4, docker provider, three machines in parallel.
        let stdout = crate::testdata::recorded("up-machine-readable");
        let up: Vec<UpLine> = stdout
            .lines()
            .map(up_line)
            .filter(|l| matches!(l, UpLine::Up(_)))
            .collect();
        assert_eq!(
            up,
            ["swarm-node01", "consul", "swarm-master"].map(|m| UpLine::Up(m.into()))
        );
        assert!(stdout.lines().map(up_line).any(|l| l
            == UpLine::Say {
                machine: Some("consul".into()),
                text: "==> consul: Creating the container...".into()
            }));
        assert_eq!(up_error(&stdout), None);
    }

    #[test]
    fn a_failed_up_is_told_in_vagrants_words_with_its_commas_and_lines() {
        // Recorded here: the image does not exist.
        let said = up_error(&crate::testdata::recorded("up-machine-readable-fails")).unwrap();
        assert!(
            said.starts_with("A Docker command executed by Vagrant didn't complete successfully!\nThe command run"),
            "{said}"
        );
        assert!(
            said.contains(r#"["docker", "run", "--name", "mrbad-consul""#),
            "{said}"
        );
        assert!(!said.contains("VAGRANT_COMMA"));
        assert_eq!(up_line("not,a line"), UpLine::Other);
        assert_eq!(up_line(""), UpLine::Other);
    }

    #[test]
    fn a_box_counts_only_for_the_provider_it_is_for() {
        let profile = BoxProfile {
            vagrant_box: Some("lab/debian-12".into()),
            ..BoxProfile::default()
        };
        let installed = [InstalledBox {
            name: "lab/debian-12".into(),
            provider: "virtualbox".into(),
            version: "0".into(),
        }];
        assert!(box_installed(&profile, Provider::Virtualbox, &installed));
        assert!(!box_installed(&profile, Provider::Libvirt, &installed));
    }

    #[test]
    fn snapshot_lists_as_vagrant_writes_them() {
        let two = "1796300000,swarm-master,ui,output,\n1796300000,swarm-master,ui,detail,lab-after-up\n1796300000,swarm-master,ui,detail,by-hand\n";
        assert_eq!(parse_snapshot_list(two), ["lab-after-up", "by-hand"]);
        let none = "1796300000,swarm-master,ui,output,No snapshots have been taken yet!\n1796300000,swarm-master,ui,detail,You can take a snapshot using `vagrant snapshot save`. Note that\\nnot all providers support this yet.\n";
        assert!(parse_snapshot_list(none).is_empty());
    }
}
