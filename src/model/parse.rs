//! lab.toml into a [`Lab`]: one function per section, each value checked
//! where it stands, so that every error names the file, line and column
//! and shows the offending value underlined.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::boxes::{self, BoxProfile};
use super::source::{with_suggestion, Source};
use super::{
    parse_subnet, Consul, EngineDriver, Lab, LibvirtDriver, Machine, Mode, Provider, Retry, Role,
    Subnet, DEFAULT_INSTALL_URL, DEFAULT_NAME, DEFAULT_SUBNET,
};
use crate::error::{ConfigError, Error};

/// Machine names must be valid docker-machine names (its regex is
/// `^[a-zA-Z0-9][a-zA-Z0-9\-\.]*$`) and valid hostnames.
const NAME_RULE: &str = "letters, digits, '-' and '.', starting and ending with a letter or digit";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: Option<Spanned<String>>,
    #[serde(default)]
    provider: Provider,
    engine: Option<Spanned<EngineDriver>>,
    mode: Option<Spanned<Mode>>,
    #[serde(rename = "box")]
    box_name: Option<Spanned<String>>,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    machines: RawMachines,
    #[serde(default)]
    consul: RawConsul,
    #[serde(default)]
    swarm: RawSwarm,
    #[serde(default)]
    docker: RawDocker,
    #[serde(default)]
    verify: RawVerify,
    #[serde(default)]
    retries: RawRetries,
    #[serde(default)]
    libvirt: RawLibvirt,
    #[serde(default)]
    snapshots: RawSnapshots,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnapshots {
    after_up: Option<Spanned<bool>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLibvirt {
    driver: Option<Spanned<LibvirtDriver>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetries {
    attempts: Option<Spanned<u32>>,
    backoff_seconds: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocker {
    port: Option<Spanned<u16>>,
    install_url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    image: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    subnet: Option<Spanned<String>>,
    interface: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMachines {
    memory: Option<Spanned<u32>>,
    cpus: Option<Spanned<u32>>,
    linked_clone: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsul {
    enabled: Option<Spanned<bool>>,
    name: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    args: Option<Vec<Spanned<String>>>,
    port: Option<Spanned<u16>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwarm {
    master: Option<Spanned<String>>,
    node_prefix: Option<Spanned<String>>,
    nodes: Option<Spanned<u32>>,
    advertise_port: Option<Spanned<u16>>,
    engine_opts: Option<Vec<Spanned<String>>>,
    network: Option<Spanned<String>>,
}

pub fn load(file: &Path) -> anyhow::Result<Lab> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::ConfigMissing {
        file: file.to_path_buf(),
        source,
    })?;
    Ok(parse(file, &text).map_err(Error::Config)?)
}

pub fn parse(file: &Path, text: &str) -> Result<Lab, ConfigError> {
    let src = Source { file, text };
    check_path(&src)?;
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..1);
        src.error_span(span, with_suggestion(e.message().trim_end()))
    })?;
    let root = file
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let name = match &raw.name {
        Some(n) => check_name(&src, n, "name").map(|()| n.get_ref().clone())?,
        None => DEFAULT_NAME.to_string(),
    };
    if let (Some(n), Provider::Libvirt) = (&raw.name, raw.provider) {
        if n.get_ref() == "default" {
            return Err(src.error(
                n,
                "a libvirt lab's private network takes the lab's name, and `default` is libvirt's own network: choose another name",
            ));
        }
    }
    let profile = box_profile(&src, &raw, &root)?;
    let (subnet, interface) = network(&src, &raw.network, &profile, raw.provider)?;
    let (memory, cpus) = machine_size(&src, &raw.machines)?;
    let (engine, mode) = engine_and_mode(&src, &raw)?;
    let consul = consul(&src, &raw.consul, mode)?;
    let swarm = swarm(&src, &raw.swarm)?;
    let (docker_port, install_url) = docker(&src, &raw.docker, consul.settings.port)?;
    let machines = machine_list(&src, &raw, &name, &consul, &swarm)?;
    subnet_fits(&src, &raw, subnet, machines.len())?;
    Ok(Lab {
        name,
        file: file.to_path_buf(),
        root,
        provider: raw.provider,
        engine,
        mode,
        profile,
        subnet,
        subnet_configured: raw.network.subnet.is_some(),
        interface,
        memory,
        cpus,
        linked_clone: raw.machines.linked_clone.unwrap_or(true),
        consul: consul.settings,
        advertise_port: swarm.advertise_port,
        engine_opts: swarm.engine_opts,
        network: swarm.network,
        docker_port,
        install_url,
        install_url_set: raw.docker.install_url.is_some(),
        probe_image: probe_image(&src, &raw.verify)?,
        retry: retries(&src, &raw.retries)?,
        machines,
        one_by_one: false,
        libvirt_driver: raw
            .libvirt
            .driver
            .as_ref()
            .map_or(LibvirtDriver::Kvm, |d| *d.get_ref()),
        // Where the provider has snapshots, `lab reset` has one to go back to.
        snapshot_after_up: raw.provider != Provider::Docker
            && raw.snapshots.after_up.as_ref().is_none_or(|a| *a.get_ref()),
        warnings: warnings(&src, &raw),
    })
}

/// Settings for another provider than the lab's: read, and ignored.
fn warnings(src: &Source, raw: &RawConfig) -> Vec<String> {
    let mut found = Vec::new();
    if let (Some(d), false) = (&raw.libvirt.driver, raw.provider == Provider::Libvirt) {
        let at = src.error(d, "");
        found.push(format!(
            "{}:{}:{}: [libvirt] applies to provider = \"libvirt\" only; this lab's provider is {}, so it is ignored",
            at.file.display(),
            at.line,
            at.column,
            raw.provider.as_str()
        ));
    }
    found
}

/// The path reaches the Vagrantfile, `lab env`'s hints and every
/// VAGRANT_CWD: a newline in it could end a comment and start code.
fn check_path(src: &Source) -> Result<(), ConfigError> {
    let shown = std::path::absolute(src.file).unwrap_or_else(|_| src.file.to_path_buf());
    if !shown.to_string_lossy().chars().any(char::is_control) {
        return Ok(());
    }
    Err(src.error_at(
        0,
        format!(
            "the path to this file, {}, holds a control character (a newline, say), which lab will not write into a Vagrantfile or a shell command\nhint: move the lab to a directory whose name has none",
            shown.display().to_string().escape_debug()
        ),
    ))
}

/// `box`: a profile from boxes/, or a raw Vagrant box or image.
fn box_profile(src: &Source, raw: &RawConfig, root: &Path) -> Result<BoxProfile, ConfigError> {
    let box_name = raw.box_name.as_ref().ok_or_else(|| {
        src.error_at(
            0,
            "missing key `box`: name a profile from boxes/ or a Vagrant box",
        )
    })?;
    plain(src, box_name, "box", false)?;
    boxes::resolve(root, box_name.get_ref(), raw.provider)
        .map_err(|message| src.error(box_name, message))
}

/// Ranges a lab's network must keep clear of, whatever the provider.
const RESERVED: [(&str, &str); 2] = [
    (
        "10.0.2.0/24",
        "VirtualBox's NAT network, on every VM's eth0",
    ),
    (
        "172.17.0.0/16",
        "Docker's default bridge, on the host and every engine",
    ),
];

/// The subnet holds every machine: the host takes its first address, and a
/// libvirt lab's private network is the subnet's lower half.
fn subnet_fits(
    src: &Source,
    raw: &RawConfig,
    subnet: Subnet,
    machines: usize,
) -> Result<(), ConfigError> {
    let Some(s) = &raw.network.subnet else {
        return Ok(());
    };
    let bits = 32 - u32::from(subnet.prefix) - u32::from(raw.provider == Provider::Libvirt);
    // Less the network's and broadcast addresses and the host's own.
    let room = (1u64 << bits).saturating_sub(3);
    if (machines as u64) > room {
        return Err(src.error(
            s,
            format!("subnet {subnet} has room for {room} machines, and this lab has {machines}: make it larger (a /24 holds 250)"),
        ));
    }
    Ok(())
}

/// `[network]`: the subnet (checked private) and the guest's interface.
fn network(
    src: &Source,
    raw: &RawNetwork,
    profile: &BoxProfile,
    provider: Provider,
) -> Result<(Subnet, String), ConfigError> {
    let subnet = match &raw.subnet {
        Some(s) => parse_subnet(s.get_ref()).map_err(|m| src.error(s, m))?,
        None => parse_subnet(DEFAULT_SUBNET).expect("default subnet parses"),
    };
    if let Some(s) = &raw.subnet {
        for (range, whose) in RESERVED {
            let range = parse_subnet(range).expect("reserved ranges parse");
            if crate::model::overlaps(&range, &subnet) {
                return Err(src.error(
                    s,
                    format!("subnet {subnet} overlaps {range}, {whose}: machines would not reach each other, or the host its engine; choose another private range, or leave it out and lab picks one"),
                ));
            }
        }
    }
    if let (Some(s), Provider::Libvirt) = (&raw.subnet, provider) {
        if subnet.prefix > 25 {
            return Err(src.error(
                s,
                "a libvirt lab's subnet holds its two networks (private and management), a half each: make it a /25 or larger, like \"10.234.0.0/24\"",
            ));
        }
    }
    let interface = match &raw.interface {
        Some(i) if !valid_interface(i.get_ref()) => {
            return Err(src.error(
                i,
                "network.interface must be an interface name like \"eth1\": letters, digits, '.', '-' and '_', at most 15, not starting with '-'",
            ))
        }
        Some(i) => i.get_ref().clone(),
        None => profile.interface.clone(),
    };
    Ok((subnet, interface))
}

/// `[machines]`: memory and CPUs per VM. Whether this host has them is
/// doctor's question (and `up`'s), not the file's: `destroy` must read the
/// same file on a host with fewer CPUs.
fn machine_size(src: &Source, raw: &RawMachines) -> Result<(u32, u32), ConfigError> {
    let memory = positive(src, raw.memory.as_ref(), "memory", 1024)?;
    if let Some(m) = &raw.memory {
        if !(MIN_MEMORY..=MAX_MEMORY).contains(m.get_ref()) {
            return Err(src.error(
                m,
                format!("machines.memory is MiB per machine: between {MIN_MEMORY} (a Linux machine with a Docker engine needs that much to boot) and {MAX_MEMORY} (1 TiB); 1024 is the usual"),
            ));
        }
    }
    let cpus = positive(src, raw.cpus.as_ref(), "cpus", 1)?;
    if let Some(c) = &raw.cpus {
        if *c.get_ref() > MAX_CPUS {
            return Err(src.error(c, format!("machines.cpus must be at most {MAX_CPUS}")));
        }
    }
    Ok((memory, cpus))
}

const MIN_MEMORY: u32 = 256;
const MAX_MEMORY: u32 = 1 << 20;
const MAX_CPUS: u32 = 256;

/// `engine` and `mode`, and the one pair that cannot go together.
fn engine_and_mode(src: &Source, raw: &RawConfig) -> Result<(EngineDriver, Mode), ConfigError> {
    let mode = raw.mode.as_ref().map_or(Mode::default(), |m| *m.get_ref());
    let engine = raw
        .engine
        .as_ref()
        .map_or(EngineDriver::default(), |e| *e.get_ref());
    if let (Some(e), Mode::Classic, EngineDriver::Native) = (&raw.engine, mode, engine) {
        return Err(src.error(
            e,
            "engine = \"native\" forms Docker's built-in swarm; the classic Swarm agents come from docker-machine: add mode = \"swarm\" or use engine = \"docker-machine\"",
        ));
    }
    Ok((engine, mode))
}

/// `[consul]`, with its machine's name.
struct ConsulSection {
    settings: Consul,
    name: String,
}

fn consul(src: &Source, raw: &RawConsul, mode: Mode) -> Result<ConsulSection, ConfigError> {
    let name = named(src, raw.name.as_ref(), "consul.name", "consul")?;
    let port = match &raw.port {
        Some(p) if *p.get_ref() == 0 => {
            return Err(src.error(p, "consul.port must be between 1 and 65535"))
        }
        Some(p) => *p.get_ref(),
        None => 8500,
    };
    let enabled = match (&raw.enabled, mode) {
        (Some(e), Mode::Classic) if !*e.get_ref() => {
            return Err(src.error(
                e,
                "classic Swarm finds its nodes through Consul, so consul.enabled must stay true; use mode = \"swarm\" for a lab without Consul",
            ))
        }
        (Some(e), _) => *e.get_ref(),
        (None, _) => true,
    };
    let image = match &raw.image {
        Some(i) => image(src, i, "consul.image")?,
        None => "progrium/consul".into(),
    };
    let args = match &raw.args {
        Some(args) => args
            .iter()
            .map(|a| plain(src, a, "consul.args", true))
            .collect::<Result<_, _>>()?,
        None => vec!["-server".into(), "-bootstrap".into()],
    };
    Ok(ConsulSection {
        settings: Consul {
            enabled,
            image,
            args,
            port,
        },
        name,
    })
}

/// `[swarm]`: the master's and nodes' names, and what the engines get.
struct SwarmSection {
    master: String,
    prefix: String,
    nodes: u32,
    engine_opts: Vec<String>,
    network: String,
    advertise_port: u16,
}

/// Networks every engine has, or a swarm makes: never the lab's overlay.
const DOCKERS_NETWORKS: [&str; 5] = ["ingress", "bridge", "host", "none", "docker_gwbridge"];

fn swarm(src: &Source, raw: &RawSwarm) -> Result<SwarmSection, ConfigError> {
    let master = named(src, raw.master.as_ref(), "swarm.master", "swarm-master")?;
    let prefix = named(
        src,
        raw.node_prefix.as_ref(),
        "swarm.node_prefix",
        "swarm-node",
    )?;
    let nodes = match &raw.nodes {
        Some(n) if *n.get_ref() == 0 => {
            return Err(src.error(
                n,
                "swarm.nodes must be at least 1: a swarm needs a node besides its master",
            ))
        }
        Some(n) if *n.get_ref() > 99 => return Err(src.error(n, "swarm.nodes must be at most 99")),
        Some(n) => *n.get_ref(),
        None => 2,
    };
    let mut engine_opts = Vec::new();
    for opt in raw.engine_opts.iter().flatten() {
        plain(src, opt, "swarm.engine_opts", false)?;
        if !opt.get_ref().contains('=') {
            return Err(src.error(
                opt,
                "engine options are written flag=value, without dashes (e.g. \"log-level=debug\")",
            ));
        }
        engine_opts.push(opt.get_ref().clone());
    }
    let network = named(src, raw.network.as_ref(), "swarm.network", "lab-overlay")?;
    if let Some(n) = &raw.network {
        if DOCKERS_NETWORKS.contains(&n.get_ref().as_str()) {
            return Err(src.error(
                n,
                format!("swarm.network `{}` is one of Docker's own networks ({}): name the lab's overlay network something else, like \"lab-overlay\"", n.get_ref(), DOCKERS_NETWORKS.join(", ")),
            ));
        }
    }
    let advertise_port = match &raw.advertise_port {
        Some(p) if *p.get_ref() == 0 => {
            return Err(src.error(p, "swarm.advertise_port must be between 1 and 65535"))
        }
        Some(p) => *p.get_ref(),
        None => 2376,
    };
    Ok(SwarmSection {
        master,
        prefix,
        nodes,
        engine_opts,
        network,
        advertise_port,
    })
}

/// `[docker]`: native engines' TLS port and installer.
fn docker(src: &Source, raw: &RawDocker, consul_port: u16) -> Result<(u16, String), ConfigError> {
    let port = match &raw.port {
        Some(p) if *p.get_ref() == 0 => {
            return Err(src.error(p, "docker.port must be between 1 and 65535"))
        }
        Some(p) => {
            let taken = [
                (22, "SSH's"),
                (2377, "the swarm manager's"),
                (7946, "the swarm's gossip"),
                (4789, "the overlay network's VXLAN"),
                (consul_port, "Consul's"),
            ];
            if let Some((_, whose)) = taken.iter().find(|(port, _)| port == p.get_ref()) {
                return Err(src.error(
                    p,
                    format!("docker.port {} is {whose} port on every machine: the engine's API needs a port of its own, like 2376", p.get_ref()),
                ));
            }
            *p.get_ref()
        }
        None => 2376,
    };
    let install_url = match &raw.install_url {
        Some(u) => plain(src, u, "docker.install_url", false)?,
        None => DEFAULT_INSTALL_URL.into(),
    };
    Ok((port, install_url))
}

/// `[verify]`: the probes' image.
fn probe_image(src: &Source, raw: &RawVerify) -> Result<String, ConfigError> {
    match &raw.image {
        Some(i) => image(src, i, "verify.image"),
        None => Ok("busybox:latest".to_string()),
    }
}

const MAX_ATTEMPTS: u32 = 20;
const MAX_BACKOFF: u64 = 600;

/// `[retries]`: how ssh commands that failed for a passing reason go again.
fn retries(src: &Source, raw: &RawRetries) -> Result<Retry, ConfigError> {
    let attempts = match &raw.attempts {
        Some(a) if *a.get_ref() == 0 => {
            return Err(src.error(a, "retries.attempts counts the first try too: at least 1"))
        }
        Some(a) if *a.get_ref() > MAX_ATTEMPTS => {
            return Err(src.error(
                a,
                format!("retries.attempts must be at most {MAX_ATTEMPTS}"),
            ))
        }
        Some(a) => *a.get_ref(),
        None => Retry::default().attempts,
    };
    if let Some(b) = &raw.backoff_seconds {
        if *b.get_ref() > MAX_BACKOFF {
            return Err(src.error(
                b,
                format!("retries.backoff_seconds is the first wait, doubled each time: at most {MAX_BACKOFF} (ten minutes)"),
            ));
        }
    }
    let backoff = raw
        .backoff_seconds
        .as_ref()
        .map_or(Retry::default().backoff, |b| {
            std::time::Duration::from_secs(*b.get_ref())
        });
    Ok(Retry { attempts, backoff })
}

/// consul (when enabled) first, then the master, then the nodes: the order
/// they are built in. No two may share a name, even in another case, and
/// each, with the lab's name, must fit a hostname.
fn machine_list(
    src: &Source,
    raw: &RawConfig,
    name: &str,
    consul: &ConsulSection,
    swarm: &SwarmSection,
) -> Result<Vec<Machine>, ConfigError> {
    let mut machines = Vec::new();
    if consul.settings.enabled {
        machines.push(Machine {
            name: consul.name.clone(),
            role: Role::Consul,
        });
    }
    machines.push(Machine {
        name: swarm.master.clone(),
        role: Role::Master,
    });
    machines.extend((1..=swarm.nodes).map(|i| Machine {
        name: format!("{}{i:02}", swarm.prefix),
        role: Role::Node,
    }));
    let at = raw.swarm.master.as_ref().map_or(0, |s| s.span().start);
    for (i, m) in machines.iter().enumerate() {
        // Hostnames, VirtualBox and docker-machine's store on macOS and
        // Windows do not tell case apart.
        if let Some(o) = machines[..i]
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(&m.name))
        {
            let message = if o.name == m.name {
                format!("machine name `{}` is used twice", m.name)
            } else {
                format!(
                    "machine names `{}` and `{}` differ only in case, which hostnames and some file systems do not tell apart",
                    o.name, m.name
                )
            };
            return Err(src.error_at(at, message));
        }
        let host = format!("{name}-{}", m.name);
        if host.len() > MAX_NAME {
            let at = raw.name.as_ref().map_or(at, |n| n.span().start);
            return Err(src.error_at(
                at,
                format!("`{host}` (the lab's name, '-', the machine's) is longer than {MAX_NAME} characters, the limit of a hostname: use shorter names"),
            ));
        }
    }
    Ok(machines)
}

/// A hostname's label: what every name lab derives must fit in.
const MAX_NAME: usize = 63;

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_NAME
        && matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        // A hostname label ends with a letter or digit.
        && !name.ends_with(['-', '.'])
}

fn valid_interface(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// A string from lab.toml that reaches a file, a Vagrantfile, a shell or
/// an argv: no control characters (a newline would start a new line of a
/// systemd unit or a script), and no leading '-' where a command would
/// read the value as a flag, unless `flag_ok` (arguments meant as flags).
fn plain(
    src: &Source,
    value: &Spanned<String>,
    key: &str,
    flag_ok: bool,
) -> Result<String, ConfigError> {
    let text = value.get_ref();
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(src.error(
            value,
            format!("{key} holds a control character ({}); lab writes it into files and command lines, where it could start a new line", c.escape_debug()),
        ));
    }
    if !flag_ok && text.starts_with('-') {
        return Err(src.error(
            value,
            format!("{key} = \"{text}\" starts with '-', so the command it goes to would read it as an option: write the value itself"),
        ));
    }
    Ok(text.clone())
}

/// An image reference as Docker reads it: not blank, and its repository
/// (what comes before the tag or digest) in lower case; the tag may hold
/// capitals.
fn image(src: &Source, value: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
    let text = plain(src, value, key, false)?;
    if text.trim().is_empty() || text.contains(char::is_whitespace) {
        return Err(src.error(
            value,
            format!("{key} must name an image, like \"busybox:latest\""),
        ));
    }
    let name = text.split('@').next().unwrap_or(&text);
    let repository = match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => name,
    };
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(src.error(
            value,
            format!("{key} `{text}`: Docker's image names are lower case (only a tag may hold capitals): write `{}`", text.replacen(repository, &repository.to_ascii_lowercase(), 1)),
        ));
    }
    Ok(text)
}

fn check_name(src: &Source, value: &Spanned<String>, key: &str) -> Result<(), ConfigError> {
    if valid_name(value.get_ref()) {
        Ok(())
    } else {
        Err(src.error(
            value,
            format!(
                "{key} `{}` is not a valid machine name: use {NAME_RULE}, at most {MAX_NAME}",
                value.get_ref().escape_debug()
            ),
        ))
    }
}

fn named(
    src: &Source,
    value: Option<&Spanned<String>>,
    key: &str,
    default: &str,
) -> Result<String, ConfigError> {
    match value {
        Some(v) => check_name(src, v, key).map(|()| v.get_ref().clone()),
        None => Ok(default.to_string()),
    }
}

fn positive(
    src: &Source,
    value: Option<&Spanned<u32>>,
    key: &str,
    default: u32,
) -> Result<u32, ConfigError> {
    match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(src.error(v, format!("machines.{key} must be at least 1")))
        }
        Some(v) => Ok(*v.get_ref()),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn parse_str(text: &str) -> Result<Lab, ConfigError> {
        parse(Path::new("lab.toml"), text)
    }

    /// Issue 20: values lab.toml accepted that could never work. Each is
    /// refused at its line, with the reason.
    #[test]
    fn values_that_cannot_work_are_refused_where_they_stand() {
        let cases: &[(&str, &str)] = &[
            ("[machines]\nmemory = 1\n", "between 256"),
            ("[machines]\nmemory = 4000000\n", "1 TiB"),
            ("[machines]\ncpus = 100000\n", "at most 256"),
            (
                "[swarm]\nadvertise_port = 0\n",
                "advertise_port must be between 1",
            ),
            (
                "engine = \"native\"\nmode = \"swarm\"\n[docker]\nport = 22\n",
                "SSH's port",
            ),
            (
                "engine = \"native\"\nmode = \"swarm\"\n[docker]\nport = 2377\n",
                "swarm manager's port",
            ),
            (
                "engine = \"native\"\nmode = \"swarm\"\n[docker]\nport = 8500\n",
                "Consul's port",
            ),
            ("[swarm]\nnetwork = \"ingress\"\n", "Docker's own networks"),
            ("[swarm]\nnetwork = \"bridge\"\n", "Docker's own networks"),
            ("[swarm]\nnetwork = \"host\"\n", "Docker's own networks"),
            ("[swarm]\nnetwork = \"none\"\n", "Docker's own networks"),
            (
                "[network]\nsubnet = \"10.9.8.0/29\"\n[swarm]\nnodes = 9\n",
                "room for 5 machines",
            ),
            ("[network]\nsubnet = \"10.0.2.0/24\"\n", "VirtualBox's NAT"),
            ("[network]\nsubnet = \"10.0.0.0/8\"\n", "VirtualBox's NAT"),
            (
                "[network]\nsubnet = \"172.17.0.0/16\"\n",
                "Docker's default bridge",
            ),
            (
                "[network]\nsubnet = \"172.17.5.0/24\"\n",
                "Docker's default bridge",
            ),
            ("name = \"lab.\"\n", "ending with a letter or digit"),
            ("name = \"lab-\"\n", "ending with a letter or digit"),
            ("[swarm]\nmaster = \"boss-\"\n", "not a valid machine name"),
            (
                "[consul]\nimage = \"HashiCorp/Consul:1.20\"\n",
                "write `hashicorp/consul:1.20`",
            ),
            ("[verify]\nimage = \"BusyBox\"\n", "lower case"),
            ("[consul]\nimage = \"  \"\n", "must name an image"),
            ("[verify]\nimage = \"\"\n", "must name an image"),
            ("[retries]\nbackoff_seconds = 31536000\n", "at most 600"),
            ("[retries]\nattempts = 1000\n", "at most 20"),
            (
                "provider = \"libvirt\"\nname = \"default\"\n[libvirt]\ndriver = \"qemu\"\n",
                "libvirt's own network",
            ),
        ];
        for (extra, why) in cases {
            let text = format!("box = \"x/y\"\n{extra}");
            let err = parse_str(&text).expect_err(extra);
            assert!(err.message.contains(why), "{extra}: {err}");
            assert!(err.line > 1, "{extra}: {err}");
        }
        // What stays allowed: a tag with capitals, a registry with a port,
        // a digest, a subnet that just holds the lab.
        for fine in [
            "[consul]\nimage = \"registry.local:5000/hashicorp/consul:Latest\"\n",
            "[verify]\nimage = \"busybox@sha256:0123\"\n",
            "[network]\nsubnet = \"10.9.8.0/29\"\n[swarm]\nnodes = 2\n",
            "[retries]\nbackoff_seconds = 600\nattempts = 20\n",
        ] {
            let text = format!("box = \"x/y\"\n{fine}");
            assert!(
                parse_str(&text).is_ok(),
                "{fine}: {:?}",
                parse_str(&text).err()
            );
        }
    }

    #[test]
    fn a_block_for_another_provider_is_a_warning_with_its_line() {
        let lab = parse_str("box = \"x/y\"\n[libvirt]\ndriver = \"qemu\"\n").unwrap();
        assert_eq!(lab.warnings.len(), 1);
        assert!(
            lab.warnings[0]
                .starts_with("lab.toml:3:10: [libvirt] applies to provider = \"libvirt\" only"),
            "{:?}",
            lab.warnings
        );
        assert!(parse_str(
            "provider = \"libvirt\"\nbox = \"debian-libvirt\"\n[libvirt]\ndriver = \"qemu\"\n"
        )
        .unwrap()
        .warnings
        .is_empty());
    }

    #[test]
    fn shipped_lab_toml_is_the_seeds_shape_on_todays_box_and_engines() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/lab.toml")).unwrap();
        let lab = parse_str(&text).unwrap();
        let names: Vec<_> = lab.machines.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["consul", "swarm-master", "swarm-node01", "swarm-node02"]
        );
        assert_eq!(lab.provider, Provider::Virtualbox);
        assert_eq!(
            (lab.engine, lab.mode),
            (EngineDriver::DockerMachine, Mode::Swarm)
        );
        assert_eq!(
            lab.profile.vagrant_box.as_deref(),
            Some("bento/ubuntu-24.04")
        );
        assert_eq!(lab.profile.architectures, ["amd64", "arm64"]);
        assert_eq!(lab.interface, "eth1");
        assert!(!lab.subnet_configured);
        assert_eq!(lab.subnet.to_string(), "192.168.61.0/24");
        assert_eq!(lab.consul.image, "hashicorp/consul");
        assert!(lab.consul.args.contains(&"-bootstrap-expect=1".to_string()));
        assert!(!lab.install_url_set);
    }

    #[test]
    fn the_seed_example_is_the_seed_with_a_pinned_engine() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-2015/lab.toml");
        let lab = parse(Path::new(file), &std::fs::read_to_string(file).unwrap()).unwrap();
        let names: Vec<_> = lab.machines.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["consul", "swarm-master", "swarm-node01", "swarm-node02"]
        );
        assert_eq!(
            (lab.engine, lab.mode),
            (EngineDriver::DockerMachine, Mode::Classic)
        );
        assert_eq!(lab.consul.image, "progrium/consul");
        assert_eq!(lab.consul.args, ["-server", "-bootstrap"]);
        assert_eq!(lab.advertise_port, 2376);
        assert!(lab.install_url_set && lab.install_url.contains("20.10"));
        assert!(lab.has_default_name(), "the recipe's docker-machine names");
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nnodez = 3\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 1), "{err}");
        assert!(
            err.to_string()
                .starts_with("lab.toml:3:1: unknown field `nodez`"),
            "{err}"
        );
        assert!(
            err.message.contains("did you mean `nodes`?"),
            "suggests the closest key: {err}"
        );
        let err = parse_str("box = \"x/y\"\nengine = \"natve\"\n").unwrap_err();
        assert!(err.message.contains("did you mean `native`?"), "{err}");
        let err = parse_str("box = \"x/y\"\n[swarm]\nzzz = 1\n").unwrap_err();
        assert!(
            !err.message.contains("did you mean"),
            "no guess when nothing is close: {err}"
        );
    }

    #[test]
    fn an_error_shows_its_line_with_the_value_underlined() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nnodes = 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "lab.toml:3:9: swarm.nodes must be at least 1: a swarm needs a node besides its master\n  |\n3 | nodes = 0\n  |         ^"
        );
        let err = parse_str("box = \"x/y\"\n[consul]\nimage = \"--privileged\"\n").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("3 | image = \"--privileged\"\n  |         ^^^^^^^^^^^^^^"),
            "{err}"
        );
        let err = parse_str("box = \"x/y\"\n[swarm]\nnodez = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.ends_with("3 | nodez = 3\n  | ^^^^^\nhint: did you mean `nodes`?"),
            "{text}"
        );
    }

    #[test]
    fn zero_nodes_is_refused_at_the_value() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nnodes = 0\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 9), "{err}");
    }

    #[test]
    fn invalid_machine_name_is_refused() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nmaster = \"bad_name!\"\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("not a valid machine name"), "{err}");
    }

    #[test]
    fn duplicate_machine_names_are_refused() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nmaster = \"consul\"\n").unwrap_err();
        assert!(err.message.contains("used twice"), "{err}");
    }

    #[test]
    fn wrong_type_is_reported_where_it_is() {
        let err = parse_str("box = \"x/y\"\n[machines]\nmemory = \"lots\"\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn missing_box_is_an_error() {
        let err = parse_str("provider = \"docker\"\n").unwrap_err();
        assert!(err.message.contains("missing key `box`"), "{err}");
    }

    #[test]
    fn node_names_are_numbered_with_two_digits() {
        let lab = parse_str("box = \"x/y\"\n[swarm]\nnodes = 3\nnode_prefix = \"n\"\n").unwrap();
        let names: Vec<_> = lab.machines.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["consul", "swarm-master", "n01", "n02", "n03"]);
    }

    #[test]
    fn subnets_are_checked() {
        assert_eq!(
            parse_subnet("10.1.2.0/24").unwrap().netmask(),
            Ipv4Addr::new(255, 255, 255, 0)
        );
        assert!(parse_subnet("10.1.2.3/24")
            .unwrap_err()
            .contains("did you mean \"10.1.2.0/24\""));
        assert!(parse_subnet("10.1.2.0").is_err());
        assert!(parse_subnet("10.1.2.0/31").is_err());
        let s = parse_subnet("192.168.59.0/24").unwrap();
        assert_eq!(s.first_host(), Ipv4Addr::new(192, 168, 59, 1));
    }

    #[test]
    fn native_engines_need_swarm_mode() {
        let err = parse_str("box = \"x/y\"\nengine = \"native\"\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 10), "{err}");
        assert!(err.message.contains("mode = \"swarm\""), "{err}");
        let lab = parse_str("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n").unwrap();
        assert_eq!((lab.engine, lab.mode), (EngineDriver::Native, Mode::Swarm));
    }

    #[test]
    fn consul_is_optional_in_swarm_mode_only() {
        let err = parse_str("box = \"x/y\"\n[consul]\nenabled = false\n").unwrap_err();
        assert!(
            err.message
                .contains("classic Swarm finds its nodes through Consul"),
            "{err}"
        );
        let lab =
            parse_str("box = \"x/y\"\nmode = \"swarm\"\n[consul]\nenabled = false\n").unwrap();
        let names: Vec<_> = lab.machines.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["swarm-master", "swarm-node01", "swarm-node02"]);
        assert!(lab.consul_machine().is_none());
    }

    #[test]
    fn unknown_engine_or_mode_lists_the_choices() {
        let err = parse_str("box = \"x/y\"\nmode = \"swarmkit\"\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(
            err.message.contains("classic") && err.message.contains("swarm"),
            "{err}"
        );
    }

    #[test]
    fn engine_opts_must_be_flag_equals_value() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nengine_opts = [\"--debug\"]\n").unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn control_characters_and_flag_like_values_are_refused() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nengine_opts = [\"log-level=debug\\nExecStartPre=/bin/touch /PWNED\"]\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("control character"), "{err}");
        let err = parse_str("box = \"x/y\"\n[consul]\nimage = \"--privileged\"\n").unwrap_err();
        assert!(err.message.contains("starts with '-'"), "{err}");
        let err = parse_str("box = \"--help\"\n").unwrap_err();
        assert!(err.message.contains("starts with '-'"), "{err}");
        let err =
            parse_str("box = \"x/y\"\n[docker]\ninstall_url = \"http://a\\tb\"\n").unwrap_err();
        assert!(err.message.contains("control character"), "{err}");
        let err =
            parse_str("box = \"x/y\"\n[consul]\nargs = [\"-server\", \"a\\nb\"]\n").unwrap_err();
        assert!(err.message.contains("control character"), "{err}");
        let err = parse_str("box = \"x/y\"\n[network]\ninterface = \"-eth1\"\n").unwrap_err();
        assert!(err.message.contains("interface name"), "{err}");
        // Flags are what consul.args are for.
        let lab = parse_str("box = \"x/y\"\n[consul]\nargs = [\"-server\"]\n").unwrap();
        assert_eq!(lab.consul.args, ["-server"]);
    }

    #[test]
    fn a_path_with_a_newline_is_refused() {
        let err = parse(
            Path::new("/tmp/x\nsystem(\"touch PWNED\")\n#/lab.toml"),
            "box = \"x/y\"\n",
        )
        .unwrap_err();
        assert!(err.message.contains("control character"), "{err}");
        assert!(
            !err.message.contains('\n') || err.message.contains("\\n"),
            "{err}"
        );
    }

    #[test]
    fn names_that_differ_only_in_case_or_are_too_long_are_refused() {
        let err = parse_str("box = \"x/y\"\n[swarm]\nmaster = \"Consul\"\n").unwrap_err();
        assert!(err.message.contains("differ only in case"), "{err}");
        let long = "m".repeat(64);
        let err = parse_str(&format!("box = \"x/y\"\n[swarm]\nmaster = \"{long}\"\n")).unwrap_err();
        assert!(err.message.contains("at most 63"), "{err}");
        let name = "n".repeat(56);
        let err = parse_str(&format!("name = \"{name}\"\nbox = \"x/y\"\n")).unwrap_err();
        assert_eq!(err.line, 1, "{err}");
        assert!(err.message.contains("longer than 63"), "{err}");
    }

    #[test]
    fn subnets_must_be_private() {
        for public in [
            "127.0.0.0/8",
            "224.0.0.0/24",
            "0.0.0.0/8",
            "8.8.8.0/24",
            "172.32.0.0/16",
            "10.0.0.0/7",
        ] {
            let err = parse_subnet(public).unwrap_err();
            assert!(
                err.contains("not a private network") || err.contains("prefix length"),
                "{public}: {err}"
            );
        }
        for private in ["10.0.0.0/8", "172.31.4.0/24", "192.168.60.0/24"] {
            assert!(parse_subnet(private).is_ok(), "{private}");
        }
    }

    #[test]
    fn more_cpus_than_the_host_has_are_read_for_doctor_to_judge() {
        let host = std::thread::available_parallelism().unwrap().get();
        let lab = parse_str(&format!("box = \"x/y\"\n[machines]\ncpus = {}\n", host + 1)).unwrap();
        assert_eq!(lab.cpus as usize, host + 1);
    }
}
