//! Runs the Consul server on the consul machine's engine, as the seed's
//! `docker $(docker-machine config consul) run ... progrium/consul -server -bootstrap`.

use crate::model::{Lab, Machine, Role, CONSUL_CONTAINER};
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Action, Stage, Step};
use crate::tools::containers::ContainerState;

use super::Hook;

/// The port Consul's HTTP API listens on inside the container.
const CONSUL_HTTP: u16 = 8500;

pub struct Server;

pub fn run_args(lab: &Lab) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        CONSUL_CONTAINER.into(),
        // Comes back with the machine after `vagrant halt` + `lab up`.
        "--restart".into(),
        "always".into(),
        "-p".into(),
        format!("{}:{CONSUL_HTTP}", lab.consul.port),
        "-h".into(),
        CONSUL_CONTAINER.into(),
        lab.consul.image.clone(),
    ];
    args.extend(lab.consul.args.iter().cloned());
    args
}

impl Hook for Server {
    fn name(&self) -> &'static str {
        "consul"
    }

    fn on_create(&self, lab: &Lab, machine: &Machine, seen: &Observed) -> Vec<Step> {
        if machine.role != Role::Consul {
            return Vec::new();
        }
        let engine_is_new = !crate::reconcile::driver::of(lab).engine_ready(seen, &machine.name);
        // A new container needs the image; a stopped one has it.
        let (reason, args, new) = match seen.consul_container {
            ContainerState::Running if !engine_is_new => return Vec::new(),
            ContainerState::Stopped if !engine_is_new => (
                "the Consul container is stopped".to_string(),
                vec!["start".to_string(), CONSUL_CONTAINER.to_string()],
                false,
            ),
            _ => (
                "no Consul container on this engine yet".to_string(),
                run_args(lab),
                true,
            ),
        };
        let engine = crate::reconcile::observe::engine_of(lab, seen, &machine.name);
        let mut steps = Vec::new();
        if new {
            steps.push(self.step(
                Stage::ConsulService,
                Some(&machine.name),
                "a machine may reach no registry: this host's copy, where the engine lacks the image"
                    .to_string(),
                Action::CopyImage {
                    engine: engine.clone(),
                    image: lab.consul.image.clone(),
                    archive: lab.state_dir().join("consul-image.tar"),
                },
            ));
        }
        steps.push(self.step(
            Stage::ConsulService,
            Some(&machine.name),
            reason,
            Action::Docker { engine, args },
        ));
        steps
    }
    // The container goes with its machine: nothing to undo.
}
