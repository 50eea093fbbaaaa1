//! Registers each machine with docker-machine's generic driver, as the
//! seed's after-up triggers did, and unregisters it before destroy.

use crate::model::{Lab, Machine, Mode, Role};
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Action, Stage, Step};
use crate::tools::docker_machine::{self, CreateSpec, SwarmFlags};

use crate::reconcile::observe::{ip_of, key_of};

use super::Hook;

pub struct Register;

/// The seed's create flags for one machine.
pub fn create_spec(lab: &Lab, machine: &Machine, seen: &Observed) -> CreateSpec {
    let consul_ip = lab.consul_machine().map_or_else(
        || "<no consul machine>".to_string(),
        |c| ip_of(lab, seen, &c.name),
    );
    let consul = format!("consul://{consul_ip}:{}", lab.consul.port);
    let (swarm, engine_opts) = match (machine.role, lab.mode) {
        // Swarm mode forms its cluster with `swarm init`/`join` afterwards.
        (_, Mode::Swarm) => (None, lab.engine_opts.clone()),
        (Role::Consul, Mode::Classic) => (None, Vec::new()),
        (Role::Master | Role::Node, Mode::Classic) => {
            let mut opts = vec![
                format!("cluster-store={consul}"),
                format!("cluster-advertise={}:{}", lab.interface, lab.advertise_port),
            ];
            opts.extend(lab.engine_opts.iter().cloned());
            (
                Some(SwarmFlags {
                    master: machine.role == Role::Master,
                    discovery: consul,
                }),
                opts,
            )
        }
    };
    CreateSpec {
        name: lab.dm_name(&machine.name),
        ip: ip_of(lab, seen, &machine.name),
        ssh_key: key_of(seen, &machine.name),
        ssh_port: lab.profile.ssh_port,
        ssh_user: seen
            .ssh
            .get(&machine.name)
            .map_or_else(|| lab.profile.user.clone(), |s| s.user.clone()),
        swarm,
        engine_opts,
        install_url: lab.install_url_set.then(|| lab.install_url.clone()),
    }
}

impl Hook for Register {
    fn name(&self) -> &'static str {
        "docker-machine"
    }

    fn applies(&self, lab: &Lab) -> bool {
        crate::reconcile::driver::of(lab).hook() == self.name()
    }

    fn on_create(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step> {
        let stage = if machine.role == Role::Consul || lab.mode == Mode::Swarm {
            Stage::Engines
        } else {
            Stage::Swarm
        };
        let step =
            |reason: String, action: Action| self.step(stage, Some(&machine.name), reason, action);
        let spec = create_spec(lab, machine, seen);
        let create = Action::Register {
            command: docker_machine::create(&spec),
            entry: spec.name,
            machine: machine.name.clone(),
            ip: spec.ip,
            record: lab.state_dir(),
        };
        let Some(entry) = seen.dm.get(&machine.name) else {
            let mut steps = Vec::new();
            // Classic Swarm's creates wait for Consul; installing Docker,
            // the long part of a create on a fresh VM, need not: the create
            // then finds Docker there and only configures it.
            if stage == Stage::Swarm && !lab.profile.docker_preinstalled {
                steps.push(self.step(
                    Stage::Engines,
                    Some(&machine.name),
                    "Docker installed now, while Consul comes up: the create then only configures it",
                    super::provision::install_docker(lab, seen, &machine.name),
                ));
            }
            steps.push(step("not registered with docker-machine".into(), create));
            return steps;
        };
        let current_ip = seen.ips.get(&machine.name);
        let problem = if !entry.is_healthy() {
            Some(format!(
                "registered but unusable ({}): redo it",
                entry.problem()
            ))
        } else if current_ip.is_some() && entry.ip().as_ref() != current_ip {
            Some(format!(
                "registered for {} but the machine is now at {}: redo it",
                entry.url,
                ip_of(lab, seen, &machine.name)
            ))
        } else {
            None
        };
        match problem {
            None => Vec::new(),
            Some(reason) => vec![
                step(
                    reason.clone(),
                    Action::Run {
                        command: docker_machine::rm(&lab.dm_name(&machine.name)),
                    },
                ),
                step(reason, create),
            ],
        }
    }

    fn on_destroy(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step> {
        if !seen.dm.contains_key(&machine.name) {
            return Vec::new();
        }
        vec![self.step(
            Stage::Unregister,
            Some(&machine.name),
            "registered with docker-machine",
            Action::Run {
                command: docker_machine::rm(&lab.dm_name(&machine.name)),
            },
        )]
    }
}
