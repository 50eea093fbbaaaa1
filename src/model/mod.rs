//! Layer 0, the model: `lab.toml` parsed, defaulted and validated into a
//! [`Lab`], and the box profiles. Depends on nothing above it.
//!
//! Every error names the file, line and column of the offending value, so
//! students can fix an instructor's file without reading Rust.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::Deserialize;

pub mod boxes;
pub mod exercise;
mod parse;
pub mod schema;
mod source;
pub mod time;
pub mod version;

pub use parse::{load, parse};

use boxes::BoxProfile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    #[default]
    Virtualbox,
    Docker,
    /// vagrant-libvirt: KVM, or QEMU's software emulation, on Linux.
    Libvirt,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Virtualbox => "virtualbox",
            Provider::Docker => "docker",
            Provider::Libvirt => "libvirt",
        }
    }

    /// Whether its machines come from Vagrant boxes (not docker images).
    pub fn uses_boxes(self) -> bool {
        self != Provider::Docker
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How vagrant-libvirt runs the machines: KVM (hardware virtualisation),
/// or QEMU's software emulation where KVM cannot run guests (a nested,
/// paravirtual KVM without VMX/SVM): much slower, but it works anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LibvirtDriver {
    #[default]
    Kvm,
    Qemu,
}

impl LibvirtDriver {
    pub fn as_str(self) -> &'static str {
        match self {
            LibvirtDriver::Kvm => "kvm",
            LibvirtDriver::Qemu => "qemu",
        }
    }
}

/// Who makes each machine's Docker engine reachable from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EngineDriver {
    /// docker-machine's generic driver, as the seed did.
    #[default]
    DockerMachine,
    /// lab itself: its own CA, certificates copied over SSH, dockerd on TLS.
    Native,
}

/// Which kind of Swarm the lab forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The seed's standalone Swarm: Consul discovery, `--swarm*` agents and
    /// cluster-store (gone from Docker Engine 23).
    #[default]
    Classic,
    /// Docker's built-in swarm mode: `swarm init`/`join` and an overlay network.
    Swarm,
}

/// What a machine is for in the lab; it decides its docker-machine flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Consul,
    Master,
    Node,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Consul => "consul",
            Role::Master => "master",
            Role::Node => "node",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.netmask()) == u32::from(self.network)
    }

    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(
            u32::MAX
                .checked_shl(32 - u32::from(self.prefix))
                .unwrap_or(0),
        )
    }

    /// The host-side address of the network (x.x.x.1), which VirtualBox's
    /// host-only adapter takes and from which Vagrant derives the DHCP range.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The name lab gives the Consul container on its machine.
pub const CONSUL_CONTAINER: &str = "consul";

#[derive(Debug, Clone)]
pub struct Consul {
    /// Classic mode needs Consul; in swarm mode it is an optional extra machine.
    pub enabled: bool,
    pub image: String,
    pub args: Vec<String>,
    pub port: u16,
}

/// A validated lab: everything the other modules need, with defaults filled in.
#[derive(Debug, Clone)]
pub struct Lab {
    /// The lab's name; prefixes the VM and container names on the host.
    pub name: String,
    /// The lab.toml this came from.
    pub file: PathBuf,
    /// The directory holding lab.toml; `.lab/` lives here.
    pub root: PathBuf,
    pub provider: Provider,
    pub engine: EngineDriver,
    pub mode: Mode,
    pub profile: BoxProfile,
    pub subnet: Subnet,
    /// Whether lab.toml names the subnet; otherwise the host's registry
    /// picks one that no other lab uses.
    pub subnet_configured: bool,
    pub interface: String,
    pub memory: u32,
    pub cpus: u32,
    /// VirtualBox machines as linked clones of the box's base VM: created in
    /// about a second instead of a disk copy each (`[machines] linked_clone`).
    pub linked_clone: bool,
    pub consul: Consul,
    pub advertise_port: u16,
    pub engine_opts: Vec<String>,
    /// The attachable overlay network of a swarm-mode lab.
    pub network: String,
    /// The TCP port each engine serves its TLS API on (native engines).
    pub docker_port: u16,
    /// Where a native engine's installer comes from when a machine has no
    /// Docker; empty means never install.
    pub install_url: String,
    /// Whether lab.toml names the installer (so docker-machine gets it too,
    /// as `--engine-install-url`).
    pub install_url_set: bool,
    /// The image `lab verify` runs its probes from.
    pub probe_image: String,
    /// ssh commands that fail for a passing reason are tried again so.
    pub retry: Retry,
    /// consul (when enabled) first, then the master, then the nodes: the order
    /// they are built in.
    pub machines: Vec<Machine>,
    /// `lab up --no-parallel`: the machines come up one after another, as
    /// VirtualBox's always do.
    pub one_by_one: bool,
    /// `[libvirt] driver`, for `provider = "libvirt"`.
    pub libvirt_driver: LibvirtDriver,
    /// `[snapshots] after_up`: the first successful `lab up` takes the
    /// snapshot `lab reset` goes back to (providers that have snapshots).
    pub snapshot_after_up: bool,
    /// What lab.toml says that does not apply here (a provider block of
    /// another provider), each `file:line:column: ...`: shown, not refused.
    pub warnings: Vec<String>,
}

impl Lab {
    pub fn machine(&self, name: &str) -> Option<&Machine> {
        self.machines.iter().find(|m| m.name == name)
    }

    /// The machine called `name`, or the error that lists the lab's machines.
    pub fn known_machine(&self, name: &str) -> Result<&Machine, crate::error::Error> {
        self.machine(name)
            .ok_or_else(|| crate::error::Error::UnknownMachine {
                name: name.to_string(),
                known: self
                    .machines
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn consul_machine(&self) -> Option<&Machine> {
        self.machines.iter().find(|m| m.role == Role::Consul)
    }

    pub fn master(&self) -> &Machine {
        self.machines
            .iter()
            .find(|m| m.role == Role::Master)
            .expect("a lab always has a master")
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Machine> {
        self.machines.iter().filter(|m| m.role == Role::Node)
    }

    /// Where lab keeps its CA, client and server certificates.
    pub fn certs_dir(&self) -> PathBuf {
        self.state_dir().join("certs")
    }

    /// `.lab` beside lab.toml, or `.lab-NAME` for a named lab, so that two
    /// labs described in one directory keep apart.
    pub fn state_dir(&self) -> PathBuf {
        if self.has_default_name() {
            self.root.join(".lab")
        } else {
            self.root.join(format!(".lab-{}", self.name))
        }
    }

    /// Whether this lab has the default name, under which the seed's
    /// docker-machine names and the `.lab` directory stay as they were.
    pub fn has_default_name(&self) -> bool {
        self.name == DEFAULT_NAME
    }

    /// The machine's docker-machine name: global on a host, so prefixed
    /// with the lab's name unless that is the default.
    pub fn dm_name(&self, machine: &str) -> String {
        if self.has_default_name() {
            machine.to_string()
        } else {
            self.host_name(machine)
        }
    }

    /// The lab machine a docker-machine name belongs to.
    pub fn machine_of_dm_name(&self, dm_name: &str) -> Option<&Machine> {
        self.machines
            .iter()
            .find(|m| self.dm_name(&m.name) == dm_name)
    }

    /// The VM or container name on the host for one of the lab's machines.
    pub fn host_name(&self, machine: &str) -> String {
        format!("{}-{}", self.name, machine)
    }

    /// A libvirt lab's two networks, private and management: host-wide
    /// names, as its domains' are.
    pub fn libvirt_networks(&self) -> Option<(String, String)> {
        (self.provider == Provider::Libvirt)
            .then(|| (self.name.clone(), format!("{}-mgmt", self.name)))
    }
}

/// How often an ssh command that failed for a passing reason is tried
/// again, waiting `backoff`, then twice that, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: std::time::Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 4,
            backoff: std::time::Duration::from_secs(2),
        }
    }
}

pub const DEFAULT_NAME: &str = "lab";

/// Docker's convenience script: today's engine, without cluster-store.
pub const DEFAULT_INSTALL_URL: &str = "https://get.docker.com";

/// The seed got Vagrant's old DHCP default 172.28.128.0/24, which VirtualBox
/// 6.1.28+ refuses on Linux and macOS hosts; lab picks inside the allowed
/// 192.168.56.0/21, clear of vboxnet0's 192.168.56.0/24 and of minikube's
/// VirtualBox default 192.168.59.0/24 (minikube PR #12811).
pub const DEFAULT_SUBNET: &str = "192.168.61.0/24";

/// A network as tools print it (`10.0.1.7/24`: host bits allowed), as the
/// network it lies in; None for anything else.
pub fn network_of(word: &str) -> Option<Subnet> {
    let (addr, prefix) = word.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Some(Subnet {
        network: Ipv4Addr::from(u32::from(addr) & mask),
        prefix,
    })
}

/// Whether two networks share an address.
pub fn overlaps(a: &Subnet, b: &Subnet) -> bool {
    let prefix = a.prefix.min(b.prefix);
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(a.network) & mask == u32::from(b.network) & mask
}

pub fn parse_subnet(text: &str) -> Result<Subnet, String> {
    let bad = || format!("subnet `{text}` is not an IPv4 network like \"192.168.61.0/24\"");
    let (addr, prefix) = text.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if !(8..=29).contains(&prefix) {
        return Err(format!(
            "subnet `{text}`: the prefix length must be between /8 and /29"
        ));
    }
    let subnet = Subnet {
        network: addr,
        prefix,
    };
    let network = Ipv4Addr::from(u32::from(addr) & u32::from(subnet.netmask()));
    if network != addr {
        return Err(format!(
            "subnet `{text}` has host bits set: did you mean \"{network}/{prefix}\"?"
        ));
    }
    // A lab's network lives on the host only: a public, loopback or
    // multicast range would hide real addresses from the host.
    let private = [("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16)]
        .iter()
        .any(|(net, len)| {
            let range = Subnet {
                network: net.parse().expect("a valid range"),
                prefix: *len,
            };
            prefix >= range.prefix
                && u32::from(addr) & u32::from(range.netmask()) == u32::from(range.network)
        });
    if !private {
        return Err(format!(
            "subnet `{text}` is not a private network: use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (lab picks 192.168.56.0/21 ranges that VirtualBox allows)"
        ));
    }
    Ok(subnet)
}
