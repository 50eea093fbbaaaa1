//! Lifecycle hooks: what lab does to each machine after Vagrant brings it up
//! and before Vagrant destroys it — the seed's Ruby triggers, as Rust.
//!
//! A hook only plans: it turns the lab and what was observed into steps. A
//! new kind of step (another discovery backend, say) is one new hook here.

pub mod cluster;
pub mod consul;
pub mod provision;
pub mod register;

use crate::model::{Lab, Machine};
use crate::reconcile::observe::Observed;
use crate::reconcile::plan::Step;
use crate::tools::docker_machine::absolute_key;

pub trait Hook: Send + Sync {
    fn name(&self) -> &'static str;

    /// Steps that give `machine` what this hook provides, skipping what is there.
    fn on_create(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step>;

    /// Steps that undo it before the machine goes away.
    fn on_destroy(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step>;
}

/// Every hook, in the order their steps are planned; each one plans
/// nothing for a lab whose engine driver or mode it does not serve.
pub fn standard() -> Vec<Box<dyn Hook>> {
    vec![
        Box::new(register::Register),
        Box::new(provision::Provision),
        Box::new(consul::Server),
        Box::new(cluster::Cluster),
    ]
}

/// A machine's private address, or a placeholder while it is unknown (dry run).
pub fn ip_of(lab: &Lab, seen: &Observed, machine: &str) -> String {
    seen.ips.get(machine).map_or_else(
        || format!("<{machine} {} address>", lab.interface),
        ToString::to_string,
    )
}

/// The SSH key Vagrant uses for a machine, or a placeholder while it is unknown.
pub fn key_of(seen: &Observed, machine: &str) -> String {
    seen.ssh.get(machine).and_then(|s| s.key()).map_or_else(
        || format!("<{machine} key from vagrant ssh-config>"),
        absolute_key,
    )
}

/// Vagrant's SSH settings for a machine, or placeholders while they are unknown.
pub fn ssh_of(lab: &Lab, seen: &Observed, machine: &str) -> crate::tools::vagrant::SshConfig {
    seen.ssh
        .get(machine)
        .cloned()
        .unwrap_or_else(|| crate::tools::vagrant::SshConfig {
            host: machine.to_string(),
            hostname: format!("<{machine} ssh address>"),
            user: lab.profile.user.clone(),
            port: lab.profile.ssh_port,
            identity_files: vec![format!("<{machine} key from vagrant ssh-config>").into()],
        })
}
