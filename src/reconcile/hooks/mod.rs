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

pub use crate::reconcile::observe::{ip_of, key_of, ssh_of};
