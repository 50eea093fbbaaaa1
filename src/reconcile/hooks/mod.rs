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
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Action, Stage, Step};

/// A hook writes only what differs: whether it serves a lab, what it adds
/// to a machine, and (where the machine's going does not take it along)
/// what it undoes.
pub trait Hook: Send + Sync {
    fn name(&self) -> &'static str;

    /// Whether this hook serves the lab at all (its engine driver, its mode).
    fn applies(&self, _lab: &Lab) -> bool {
        true
    }

    /// Steps that give `machine` what this hook provides, skipping what is there.
    fn on_create(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step>;

    /// Steps that undo it before the machine goes away; none when it goes
    /// with the machine.
    fn on_destroy(&self, _lab: &Lab, _machine: &Machine, _seen: &Observed) -> Vec<Step> {
        Vec::new()
    }

    /// One of this hook's steps, for `machine` (`None`: the whole lab).
    fn step(
        &self,
        stage: Stage,
        machine: Option<&str>,
        reason: impl Into<String>,
        action: Action,
    ) -> Step
    where
        Self: Sized,
    {
        Step {
            stage,
            machine: machine.map(String::from),
            hook: self.name(),
            reason: reason.into(),
            action,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::driver::{self, Driver};

    #[test]
    fn each_driver_has_its_hook_and_only_that_one_applies() {
        for (engine, driver) in [
            ("docker-machine", &driver::DockerMachine as &dyn Driver),
            ("native", &driver::Native),
        ] {
            let text = format!("box = \"x/y\"\nengine = \"{engine}\"\nmode = \"swarm\"\n");
            let lab = crate::model::parse(std::path::Path::new("lab.toml"), &text).unwrap();
            let engine_hooks: Vec<&str> = standard()
                .iter()
                .filter(|h| ["docker-machine", "native-engine"].contains(&h.name()))
                .filter(|h| h.applies(&lab))
                .map(|h| h.name())
                .collect();
            assert_eq!(engine_hooks, [driver.hook()], "{engine}");
        }
    }
}
