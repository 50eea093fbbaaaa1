//! What a look at the lab found, as plain data: Vagrant's machines, their
//! SSH settings and addresses, docker-machine's entries, the engines and the
//! swarm. `observe.rs` fills it in; planning, checks and reports read it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::error::Foreign;
use crate::tools::containers::ContainerState;
use crate::tools::docker_machine::DmMachine;
use crate::tools::swarm::{SwarmInfo, SwarmNode};
use crate::tools::vagrant::{SshConfig, VmStatus};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    pub vms: Vec<VmStatus>,
    pub ssh: BTreeMap<String, SshConfig>,
    pub ips: BTreeMap<String, Ipv4Addr>,
    /// docker-machine entries of this lab's machines only.
    pub dm: BTreeMap<String, DmMachine>,
    pub consul_container: ContainerState,
    /// Native engines: the lab's CA and client certificate exist.
    pub ca_ready: bool,
    /// Each engine's swarm state, or why it did not answer (swarm mode and
    /// native engines only).
    pub engines: BTreeMap<String, Result<SwarmInfo, String>>,
    /// The master's `docker node ls`, when it manages a swarm.
    pub nodes: Option<Vec<SwarmNode>>,
    /// The driver of the lab's overlay network on the master, if it exists.
    pub network: Option<String>,
    /// Vagrant's installed boxes, when `vagrant up` is coming (VirtualBox).
    pub boxes: Option<Vec<crate::tools::vagrant::InstalledBox>>,
    /// A pack's images that this host's engine lacks, with their archives
    /// (when `vagrant up` is coming).
    pub pack_images: Vec<(String, std::path::PathBuf)>,
    /// Vagrant's version, when a box is to be added (what `box add` takes).
    pub vagrant_version: Option<crate::model::version::Version>,
    /// Whether the docker provider's image is on the host, when `vagrant up` is coming.
    pub image_present: Option<bool>,
    /// Docker provider: the host's containers of this lab's machines (named
    /// like them, and made for this lab).
    pub host_containers: Vec<String>,
    /// Things on the host that bear this lab's names but that the lab did
    /// not make: never removed or reused.
    pub foreign: Vec<Foreign>,
    /// The lab's entry in the list of labs (on destroy).
    pub listed: Option<crate::host::registry::Listing>,
    /// What could not be looked at, said as a warning.
    pub warnings: Vec<String>,
}

/// What a look found: the lab's own, and what only bears its names.
#[derive(Debug, Default)]
pub struct Found<T> {
    pub ours: T,
    pub foreign: Vec<Foreign>,
}

impl Observed {
    pub fn vm(&self, name: &str) -> Option<&VmStatus> {
        self.vms.iter().find(|v| v.name == name)
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.vm(name).is_some_and(VmStatus::is_running)
    }

    pub fn swarm_info(&self, name: &str) -> Option<&SwarmInfo> {
        self.engines.get(name).and_then(|r| r.as_ref().ok())
    }
}
