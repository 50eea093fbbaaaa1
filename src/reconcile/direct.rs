//! What `vagrant status` and `vagrant ssh-config` would say, read the way
//! Vagrant's provider reads it, without Vagrant's Ruby start-up (1.5–3 s a
//! call here, every time a student looks): Vagrant's own record of each
//! machine (`.vagrant/machines/NAME/PROVIDER/id`, `private_key`), then the
//! provider asked directly — one `docker inspect` (Vagrant 2.3's docker
//! provider), or `virsh` (vagrant-libvirt 0.11: the domain's state, and its
//! first interface's DHCP lease for SSH). None wherever that cannot answer
//! as Vagrant would (another provider, an unreadable record, a machine gone
//! behind Vagrant's back, a VM with no lease yet): the caller asks Vagrant.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::model::{Lab, Provider};
use crate::process::runner::Runner;
use crate::tools::libvirt;
use crate::tools::vagrant::{self, SshConfig, VmState};

/// Each machine's state, and for running ones where SSH answers and their
/// addresses.
#[derive(Debug, Default)]
pub struct Direct {
    pub states: BTreeMap<String, VmState>,
    ssh: BTreeMap<String, (String, u16)>,
    addresses: BTreeMap<String, Vec<Ipv4Addr>>,
}

/// Vagrant's record of the lab's machines: the ids of those it made.
fn recorded_ids(lab: &Lab) -> Option<BTreeMap<String, String>> {
    let data = lab.state_dir().join(".vagrant").join("machines");
    let mut ids = BTreeMap::new();
    for m in &lab.machines {
        let file = data.join(&m.name).join(lab.provider.as_str()).join("id");
        match std::fs::read_to_string(file) {
            Ok(id) if !id.trim().is_empty() => {
                ids.insert(m.name.clone(), id.trim().to_string());
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return None,
        }
    }
    Some(ids)
}

/// Every machine's state; where SSH answers and the addresses of the
/// running machines among `wanted` (libvirt asks one lease table each).
pub async fn read(runner: &Runner, lab: &Lab, wanted: &[&str]) -> Option<Direct> {
    match lab.provider {
        Provider::Docker => docker(runner, lab).await,
        Provider::Libvirt => libvirt_domains(runner, lab, wanted).await,
        Provider::Virtualbox => None,
    }
}

async fn docker(runner: &Runner, lab: &Lab) -> Option<Direct> {
    let ids = recorded_ids(lab)?;
    let wanted: Vec<String> = ids
        .values()
        .filter(|id| *id != "preparing")
        .cloned()
        .collect();
    let containers = if wanted.is_empty() {
        Vec::new()
    } else {
        let out = runner
            .query(&vagrant::inspect_containers(&wanted))
            .await
            .ok()?;
        vagrant::parse_containers(&out.stdout)
    };
    let mut direct = Direct::default();
    for m in &lab.machines {
        let id = ids.get(&m.name).map(String::as_str);
        let state = vagrant::docker_state(id, &containers);
        if state == VmState::Running {
            let container = containers.iter().find(|c| Some(c.id.as_str()) == id)?;
            if let Some(ssh) = &container.ssh {
                direct.ssh.insert(m.name.clone(), ssh.clone());
            }
            direct
                .addresses
                .insert(m.name.clone(), container.addresses.clone());
        }
        direct.states.insert(m.name.clone(), state);
    }
    Some(direct)
}

async fn libvirt_domains(runner: &Runner, lab: &Lab, wanted: &[&str]) -> Option<Direct> {
    let ids = recorded_ids(lab)?;
    let (_, management) = crate::host::render::libvirt_halves(&lab.subnet);
    let listed = runner.query(&libvirt::list_uuids(false)).await.ok()?;
    let existing = libvirt::parse_uuids(&listed.stdout);
    let running =
        libvirt::parse_uuids(&runner.query(&libvirt::list_uuids(true)).await.ok()?.stdout);
    let mut direct = Direct::default();
    for m in &lab.machines {
        let state = match ids.get(&m.name).map(String::as_str) {
            None => VmState::NotCreated,
            Some("preparing") => VmState::Preparing,
            Some(id) if !existing.iter().any(|u| u == id) => VmState::NotCreated,
            Some(id) if running.iter().any(|u| u == id) && !wanted.contains(&m.name.as_str()) => {
                VmState::Running
            }
            Some(id) if running.iter().any(|u| u == id) => {
                let out = runner.query(&libvirt::leases(id)).await.ok()?;
                let addresses = libvirt::parse_leases(&out.stdout);
                // vagrant-libvirt's SSH address: the lease of the first
                // interface, on its management network; without one
                // it calls the machine "inaccessible".
                let host = addresses.iter().find(|ip| management.contains(**ip))?;
                direct.ssh.insert(m.name.clone(), (host.to_string(), 22));
                direct.addresses.insert(m.name.clone(), addresses);
                VmState::Running
            }
            Some(id) => {
                let out = runner.query(&libvirt::domstate(id)).await.ok()?;
                VmState::parse(&libvirt::state_id(&out.stdout))
            }
        };
        direct.states.insert(m.name.clone(), state);
    }
    Some(direct)
}

impl Direct {
    /// `vagrant ssh-config` of these machines: where SSH answers, Vagrant's
    /// default user, the key Vagrant put in its record. None when one of
    /// them lacks any of it.
    pub fn ssh_configs(&self, lab: &Lab, names: &[&str]) -> Option<BTreeMap<String, SshConfig>> {
        let data: PathBuf =
            std::path::absolute(lab.state_dir().join(".vagrant").join("machines")).ok()?;
        let mut found = BTreeMap::new();
        for name in names {
            let (hostname, port) = self.ssh.get(*name)?.clone();
            let key = data
                .join(name)
                .join(lab.provider.as_str())
                .join("private_key");
            if !key.is_file() {
                return None;
            }
            found.insert(
                name.to_string(),
                SshConfig {
                    host: name.to_string(),
                    hostname,
                    user: "vagrant".into(),
                    port,
                    identity_files: vec![key],
                },
            );
        }
        Some(found)
    }

    /// The machines' addresses on the lab's private network (what `ip
    /// addr` shows on its interface there): the one in the lab's subnet
    /// that is not where SSH answers (libvirt's management network is in
    /// the subnet's upper half). None when one of them has none.
    pub fn addresses(
        &self,
        lab: &Lab,
        names: &[&str],
    ) -> Option<BTreeMap<String, Result<Ipv4Addr, String>>> {
        let mut found = BTreeMap::new();
        for name in names {
            let ssh_host = self.ssh.get(*name).map(|(h, _)| h.as_str());
            let ip = self.addresses.get(*name)?.iter().find(|ip| {
                lab.subnet.contains(**ip) && Some(ip.to_string().as_str()) != ssh_host
            })?;
            found.insert(name.to_string(), Ok(*ip));
        }
        Some(found)
    }
}
