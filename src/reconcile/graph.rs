//! A plan as a graph: each step waits only for the steps whose results it
//! needs, so that a machine moves on as soon as its own inputs are ready
//! (a node's join waits for its own engine and its manager, not for every
//! other engine). Printed by `--dry-run`, with what each step waits for.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::reconcile::plan::{Action, Plan, Stage, Step};

/// For each step of `plan`, the earlier steps (indices) it waits for: only
/// those that no other of them waits for already.
pub fn waits_for(plan: &Plan) -> Vec<Vec<usize>> {
    let direct: Vec<Vec<usize>> = (0..plan.steps.len())
        .map(|i| direct(&plan.steps, i))
        .collect();
    // Every step's ancestors; dependencies point backwards, so in order.
    let mut ancestors: Vec<BTreeSet<usize>> = Vec::with_capacity(direct.len());
    for deps in &direct {
        let mut all = BTreeSet::new();
        for &d in deps {
            all.insert(d);
            all.extend(ancestors[d].iter().copied());
        }
        ancestors.push(all);
    }
    direct
        .iter()
        .map(|deps| {
            deps.iter()
                .copied()
                .filter(|&d| !deps.iter().any(|&e| e != d && ancestors[e].contains(&d)))
                .collect()
        })
        .collect()
}

/// A step for the whole lab (`vagrant up`, the CA, `vagrant destroy`)
/// waits for everything before it, and everything after it waits for it.
/// A machine's step waits for that machine's step before it, and for the
/// steps of other machines whose results it uses.
fn direct(steps: &[Step], i: usize) -> Vec<usize> {
    let step = &steps[i];
    let before = &steps[..i];
    if step.machine.is_none() {
        return (0..i).collect();
    }
    let mut deps = BTreeSet::new();
    deps.extend(before.iter().rposition(|s| s.machine.is_none()));
    deps.extend(before.iter().rposition(|s| s.machine == step.machine));
    for (j, other) in before.iter().enumerate() {
        if uses(step, other) {
            deps.insert(j);
        }
    }
    deps.into_iter().collect()
}

/// Whether `step` needs what another machine's earlier step `other` makes.
fn uses(step: &Step, other: &Step) -> bool {
    match (&step.action, step.stage) {
        // The worker token and the manager's address come from the master.
        (Action::SwarmJoin { master, .. }, _) => other.machine.as_deref() == Some(master),
        (Action::SwarmInit { .. }, _) => false,
        // Classic Swarm's master and nodes find each other through Consul.
        (_, Stage::Swarm) => other.stage == Stage::ConsulService,
        // A node's old entry goes once the node is in again.
        (_, Stage::Cleanup) => other.stage == Stage::Join,
        _ => false,
    }
}

/// How a step's wait is shown: step numbers as printed (from 1).
fn shown(deps: &[usize]) -> String {
    let numbers: Vec<String> = deps.iter().map(|d| (d + 1).to_string()).collect();
    numbers.join(", ")
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return writeln!(f, "nothing to do: the lab is as lab.toml describes");
        }
        let waits = waits_for(self);
        for (i, step) in self.steps.iter().enumerate() {
            let machine = step.machine.as_deref().unwrap_or("(lab)");
            let stage = format!("[{}]", step.stage);
            writeln!(f, "{:>2}. {stage:<18} {machine:<14} {}", i + 1, step.action)?;
            let after = if waits[i].is_empty() {
                String::new()
            } else {
                format!("   (after {})", shown(&waits[i]))
            };
            writeln!(f, "              # {}{after}", step.reason)?;
        }
        Ok(())
    }
}

/// The plan for `--dry-run --json`: each step with the numbers of the
/// steps it waits for (as printed, from 1).
#[derive(Serialize)]
pub struct View<'a> {
    /// [`PLAN`](crate::model::schema::PLAN).
    schema: &'static str,
    steps: Vec<StepView<'a>>,
}

#[derive(Serialize)]
struct StepView<'a> {
    #[serde(flatten)]
    step: &'a Step,
    waits_for: Vec<usize>,
}

pub fn view(plan: &Plan) -> View<'_> {
    let waits = waits_for(plan);
    View {
        schema: crate::model::schema::PLAN,
        steps: plan
            .steps
            .iter()
            .zip(waits)
            .map(|(step, deps)| StepView {
                step,
                waits_for: deps.iter().map(|d| d + 1).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Lab;
    use crate::reconcile::planner::up;
    use crate::testdata::all_done;
    use crate::tools::containers::ContainerState;
    use std::path::Path;

    fn fresh(toml: &str) -> (Lab, Plan) {
        let lab = crate::model::parse(Path::new("/nonexistent/lab.toml"), toml).unwrap();
        let mut seen = all_done(&lab);
        seen.dm.clear();
        seen.consul_container = ContainerState::Unknown;
        let plan = up(&lab, &seen, &crate::reconcile::hooks::standard());
        (lab, plan)
    }

    /// The machines of the steps `i` waits for.
    fn machines_before(plan: &Plan, waits: &[Vec<usize>], i: usize) -> BTreeSet<String> {
        waits[i]
            .iter()
            .map(|&d| plan.steps[d].machine.clone().unwrap_or_else(|| "-".into()))
            .collect()
    }

    fn position(plan: &Plan, machine: &str, pred: impl Fn(&Action) -> bool) -> usize {
        plan.steps
            .iter()
            .position(|s| s.machine.as_deref() == Some(machine) && pred(&s.action))
            .unwrap_or_else(|| panic!("no such step for {machine}:\n{plan}"))
    }

    #[test]
    fn each_machine_moves_on_when_its_own_inputs_are_ready() {
        let (_, plan) = fresh(
            "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[consul]\nenabled = false\n[swarm]\nnodes = 2\n",
        );
        let waits = waits_for(&plan);
        // The master forms its swarm once its own engine is set up: the
        // nodes' engines are not waited for.
        let init = position(&plan, "swarm-master", |a| {
            matches!(a, Action::SwarmInit { .. })
        });
        assert_eq!(
            machines_before(&plan, &waits, init),
            ["swarm-master"].map(String::from).into()
        );
        // A node joins once its own engine and the master's swarm are there,
        // whatever the other node does.
        let join = position(&plan, "swarm-node01", |a| {
            matches!(a, Action::SwarmJoin { .. })
        });
        let deps = machines_before(&plan, &waits, join);
        assert!(
            deps.contains("swarm-node01") && deps.contains("swarm-master"),
            "{deps:?}"
        );
        assert!(!deps.contains("swarm-node02"), "{deps:?}");
        // (The master's swarm init, or a step after it on the master.)
        assert!(
            waits[join]
                .iter()
                .any(|&d| d >= init && plan.steps[d].machine.as_deref() == Some("swarm-master")),
            "{:?}",
            waits[join]
        );
        // Every machine's first step waits for the CA, made for the whole lab.
        let ca = plan
            .steps
            .iter()
            .position(|s| matches!(s.action, Action::EnsureCa { .. }))
            .unwrap();
        for (i, step) in plan.steps.iter().enumerate().skip(ca + 1) {
            assert!(
                waits[i].contains(&ca)
                    || waits[i]
                        .iter()
                        .any(|&d| plan.steps[d].machine == step.machine),
                "{i}"
            );
        }
    }

    /// docker-machine knows the machines by host-wide names (`NAME-MACHINE`);
    /// the graph goes by lab.toml's.
    #[test]
    fn a_named_lab_on_docker_machine_joins_after_the_masters_init() {
        let (_, plan) =
            fresh("name = \"cls\"\nbox = \"x/y\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n");
        let waits = waits_for(&plan);
        let init = position(&plan, "swarm-master", |a| {
            matches!(a, Action::SwarmInit { .. })
        });
        let join = position(&plan, "swarm-node01", |a| {
            matches!(a, Action::SwarmJoin { .. })
        });
        assert!(
            waits[join]
                .iter()
                .any(|&d| d >= init && plan.steps[d].machine.as_deref() == Some("swarm-master")),
            "{plan}"
        );
    }

    #[test]
    fn classic_swarm_creates_wait_for_consul_and_a_lab_wide_step_for_all() {
        let (_, plan) = fresh("box = \"x/y\"\n[swarm]\nnodes = 1\n");
        let waits = waits_for(&plan);
        let run = plan
            .steps
            .iter()
            .position(|s| s.stage == Stage::ConsulService && s.action.to_string().contains(" run "))
            .unwrap();
        for machine in ["swarm-master", "swarm-node01"] {
            let create = position(&plan, machine, |a| {
                a.to_string().contains("docker-machine create")
            });
            assert!(
                waits[create].contains(&run),
                "{machine}: {:?}\n{plan}",
                waits[create]
            );
            // Docker goes on the machine meanwhile: its install waits for
            // nothing of Consul's, and the create waits for it.
            let install = position(&plan, machine, |a| a.to_string().contains("curl -fsSL"));
            assert!(install < run, "{plan}");
            assert!(
                machines_before(&plan, &waits, install)
                    .iter()
                    .all(|m| m != "consul"),
                "{plan}"
            );
            assert!(waits[create].contains(&install), "{plan}");
        }
        let mut with_up = Plan::default();
        with_up.steps.push(plan.steps[0].clone());
        with_up.steps.push(Step {
            machine: None,
            ..plan.steps[0].clone()
        });
        assert_eq!(waits_for(&with_up)[1], [0]);
    }

    #[test]
    fn the_printed_plan_says_what_each_step_waits_for() {
        let (_, plan) = fresh(
            "box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[consul]\nenabled = false\n[swarm]\nnodes = 1\n",
        );
        let text = plan.to_string();
        let waits = waits_for(&plan);
        let join = position(&plan, "swarm-node01", |a| {
            matches!(a, Action::SwarmJoin { .. })
        });
        let numbers: Vec<String> = waits[join].iter().map(|d| (d + 1).to_string()).collect();
        assert!(
            text.contains(&format!("(after {})", numbers.join(", "))),
            "{text}"
        );
        let json = serde_json::to_value(view(&plan)).unwrap();
        let shown: Vec<usize> = json["steps"][join]["waits_for"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap() as usize - 1)
            .collect();
        assert_eq!(shown, waits[join]);
        assert_eq!(json["steps"][join]["machine"], "swarm-node01");
    }
}
