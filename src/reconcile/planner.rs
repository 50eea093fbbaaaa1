//! The whole of a plan: the machines' steps, then each hook's for each
//! machine. Hooks plan with the plan's types; this puts them together.

use crate::model::{Lab, Machine};
use crate::reconcile::hooks::Hook;
use crate::reconcile::observe::Observed;
use crate::reconcile::plan::{lost_containers, machines_up, Action, Plan, Stage, Step};
use crate::tools::vagrant;

/// Every hook that serves the lab, for every machine, in order.
fn each_hook(
    lab: &Lab,
    hooks: &[Box<dyn Hook>],
    steps_of: impl Fn(&dyn Hook, &Machine) -> Vec<Step>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for hook in hooks.iter().filter(|hook| hook.applies(lab)) {
        for machine in &lab.machines {
            steps.extend(steps_of(hook.as_ref(), machine));
        }
    }
    steps
}

/// What each create hook still has to do for each machine.
pub fn create_hooks(lab: &Lab, seen: &Observed, hooks: &[Box<dyn Hook>]) -> Plan {
    Plan::from_steps(each_hook(lab, hooks, |hook, m| {
        hook.on_create(lab, m, seen)
    }))
}

/// The whole of `lab up`, as far as it can be known now.
pub fn up(lab: &Lab, seen: &Observed, hooks: &[Box<dyn Hook>]) -> Plan {
    let mut plan = machines_up(lab, seen);
    plan.extend(create_hooks(lab, seen, hooks));
    plan
}

/// Machines the lab made that lab.toml no longer lists (`extras`, in the
/// `wide` lab that still has them): each hook's undo, `vagrant destroy` of
/// those Vagrant made, then the record forgets them all.
pub fn retire(wide: &Lab, seen: &Observed, extras: &[String], hooks: &[Box<dyn Hook>]) -> Plan {
    let mut steps = each_hook(wide, hooks, |hook, m| {
        if extras.contains(&m.name) {
            hook.on_destroy(wide, m, seen)
        } else {
            Vec::new()
        }
    });
    let made: Vec<String> = seen
        .vms
        .iter()
        .filter(|v| extras.contains(&v.name) && v.is_created())
        .map(|v| v.name.clone())
        .collect();
    if !made.is_empty() {
        steps.push(Step {
            stage: Stage::DestroyMachines,
            machine: None,
            hook: "vagrant",
            reason: format!("lab.toml no longer lists {}", made.join(", ")),
            action: Action::Run {
                command: vagrant::destroy_machines(wide, &made),
            },
        });
    }
    steps.push(Step {
        stage: Stage::Forget,
        machine: None,
        hook: "state",
        reason: "they are gone".into(),
        action: Action::ForgetMachines {
            record: wide.state_dir(),
            machines: extras.to_vec(),
        },
    });
    Plan::from_steps(steps)
}

/// `lab destroy`: each hook's undo, then the machines, then lab's state.
pub fn destroy(lab: &Lab, seen: &Observed, hooks: &[Box<dyn Hook>]) -> Plan {
    let mut steps = each_hook(lab, hooks, |hook, m| hook.on_destroy(lab, m, seen));
    steps.extend(lost_containers(lab, seen, Stage::DestroyMachines));
    let created: Vec<&str> = seen
        .vms
        .iter()
        .filter(|v| v.is_created() && v.state != vagrant::VmState::Preparing)
        .map(|v| v.name.as_str())
        .collect();
    if !created.is_empty() {
        steps.push(Step {
            stage: Stage::DestroyMachines,
            machine: None,
            hook: "vagrant",
            reason: format!("created: {}", created.join(", ")),
            action: Action::Run {
                command: vagrant::destroy(lab),
            },
        });
    }
    // Off the list before the state directory goes: the lab's lock lives
    // there, and an `up` that starts once it is gone must not lose its entry.
    if let Some(listing) = &seen.listed {
        steps.push(Step {
            stage: Stage::Forget,
            machine: None,
            hook: "state",
            reason: "the list of labs holds it".into(),
            action: Action::Unlist {
                listing: listing.clone(),
            },
        });
    }
    let state = lab.state_dir();
    if state.exists() {
        steps.push(Step {
            stage: Stage::Forget,
            machine: None,
            hook: "state",
            reason: "the rendered Vagrantfile, Vagrant's data and lab's log".into(),
            action: Action::RemoveDir { path: state },
        });
    }
    Plan::from_steps(steps)
}
