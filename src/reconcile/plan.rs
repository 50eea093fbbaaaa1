//! Plans are data: config + observed state → the steps that bring the lab
//! where lab.toml says. `--dry-run` prints them; tests assert on them.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::model::Lab;
use crate::process::process_builder::{quote, Cmd};
use crate::reconcile::observed::Observed;
use crate::tools::engine::Engine;
use crate::tools::vagrant;

/// Steps of one stage run at the same time, one task per machine; a stage
/// starts only when the one before it has finished without error. Ordered
/// as they run; a plan holds `up`'s stages or `destroy`'s, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// `vagrant up` (or `halt`), and what it needs first (a box, a lost container gone).
    Machines,
    /// The lab's certificate authority, before any machine needs it.
    Ca,
    /// Engines that everything else needs: consul's in classic mode, every
    /// machine's in swarm mode.
    Engines,
    ConsulService,
    /// Classic: the swarm master and nodes; swarm mode: `swarm init`.
    Swarm,
    /// Swarm mode: nodes join, the overlay network is made.
    Join,
    /// Swarm mode: entries of nodes that left and came back are removed.
    Cleanup,
    /// destroy: docker-machine entries go first,
    Unregister,
    /// then the machines,
    DestroyMachines,
    /// then lab's state.
    Forget,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Machines => "machines",
            Stage::Ca => "ca",
            Stage::Engines => "engines",
            Stage::ConsulService => "consul-service",
            Stage::Swarm => "swarm",
            Stage::Join => "join",
            Stage::Cleanup => "cleanup",
            Stage::Unregister => "unregister",
            Stage::DestroyMachines => "destroy-machines",
            Stage::Forget => "forget",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    Run {
        command: Cmd,
    },
    /// `docker-machine create` for one machine; the entry it makes goes
    /// into the lab's record in `record` (a failed create's too, which
    /// docker-machine keeps), with the address it was made for.
    Register {
        command: Cmd,
        entry: String,
        machine: String,
        ip: String,
        record: PathBuf,
    },
    /// Machines taken off the lab's record (and their docker-machine
    /// entries'), once they are gone.
    ForgetMachines {
        record: PathBuf,
        machines: Vec<String>,
    },
    /// `docker ARGS...` on one machine's engine.
    Docker {
        engine: Engine,
        args: Vec<String>,
    },
    /// The lab's entry taken off the list of labs, under the lab's lock.
    Unlist {
        listing: crate::host::registry::Listing,
    },
    RemoveDir {
        path: PathBuf,
    },
    /// The lab's CA and client certificate, unless they exist.
    EnsureCa {
        dir: PathBuf,
        lab: String,
    },
    /// A server certificate for one machine's engine.
    IssueCert {
        dir: PathBuf,
        lab: String,
        machine: String,
        names: Vec<String>,
    },
    WriteFile {
        path: PathBuf,
        text: String,
    },
    /// `command` with the file's contents on its stdin (an `ssh ... cat >`).
    Upload {
        command: Cmd,
        from: PathBuf,
    },
    /// `image` on the engine: copied from this host's engine when the engine
    /// lacks it and the host has it (machines may reach no registry);
    /// otherwise left to the `docker run` after it to pull.
    CopyImage {
        engine: Engine,
        image: String,
        archive: PathBuf,
    },
    /// Asks the engine for its version until it answers over TLS.
    WaitEngine {
        engine: Engine,
    },
    /// `swarm init` on the master, decided when it runs (its engine may be
    /// set up by this very plan): nothing where it leads at `advertise`
    /// already; formed again there (`--force-new-cluster`) where it led at
    /// another address; after leaving, where it is a worker elsewhere.
    /// `reform` is what the plan expects, for the printed plan.
    SwarmInit {
        engine: Engine,
        advertise: String,
        reform: bool,
    },
    /// The lab's attachable overlay network, unless the manager has it.
    SwarmNetwork {
        engine: Engine,
        name: String,
    },
    /// Reads a worker token from the manager and joins the node with it,
    /// the token passed over ssh on the node's stdin: never in an argv
    /// that other users of the host could read.
    SwarmJoin {
        node: Engine,
        node_ssh: crate::tools::vagrant::SshConfig,
        /// The manager's machine, as lab.toml names it: the join waits for its steps.
        master: String,
        manager: Engine,
        advertise: String,
        manager_addr: String,
    },
}

/// `docker ARGS` on an engine, as a person would type it.
fn engine_line(f: &mut fmt::Formatter<'_>, engine: &Engine, args: &[String]) -> fmt::Result {
    write!(f, "{engine}")?;
    for arg in args {
        write!(f, " {}", quote(arg))?;
    }
    Ok(())
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Run { command } | Action::Register { command, .. } => write!(f, "{command}"),
            Action::Docker { engine, args } => engine_line(f, engine, args),
            Action::RemoveDir { path } => {
                write!(f, "rm -rf {}", quote(&path.display().to_string()))
            }
            Action::Unlist { listing } => write!(
                f,
                "take {} off the list of labs in {}",
                listing.file.display(),
                listing.list.display()
            ),
            Action::ForgetMachines { record, machines } => write!(
                f,
                "forget {} in {}",
                machines.join(", "),
                record.join("record.json").display()
            ),
            Action::EnsureCa { dir, .. } => write!(
                f,
                "make the lab's CA and client certificate in {}",
                dir.display()
            ),
            Action::IssueCert {
                dir,
                machine,
                names,
                ..
            } => write!(
                f,
                "issue {machine}'s server certificate for {} in {}",
                names.join(", "),
                crate::host::tls::server_dir(dir, machine).display()
            ),
            Action::WriteFile { path, .. } => write!(f, "write {}", path.display()),
            Action::Upload { command, from } => {
                write!(f, "{command} < {}", quote(&from.display().to_string()))
            }
            Action::WaitEngine { engine } => {
                write!(f, "{engine} version   # until it answers over TLS")
            }
            Action::CopyImage { engine, image, .. } => write!(
                f,
                "docker save {} | {engine} load   # if the engine lacks it and this host has it",
                quote(image)
            ),
            Action::SwarmInit {
                engine,
                advertise,
                reform,
            } => {
                let args = if *reform {
                    crate::tools::swarm::reform_args(advertise)
                } else {
                    crate::tools::swarm::init_args(advertise)
                };
                engine_line(f, engine, &args)
            }
            Action::SwarmNetwork { engine, name } => {
                engine_line(f, engine, &crate::tools::swarm::network_create_args(name))
            }
            Action::SwarmJoin {
                node_ssh,
                manager,
                advertise,
                manager_addr,
                ..
            } => write!(
                f,
                "{manager} swarm join-token -q worker | {}",
                crate::tools::swarm::join_over_ssh(node_ssh, advertise, manager_addr)
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub stage: Stage,
    /// The machine this step is for; `None` for the whole lab.
    pub machine: Option<String>,
    pub hook: &'static str,
    /// Why the step is needed, in words.
    pub reason: String,
    pub action: Action,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn from_steps(mut steps: Vec<Step>) -> Plan {
        steps.sort_by_key(|s| s.stage);
        Plan { steps }
    }

    /// The steps grouped by stage, in order.
    pub fn stages(&self) -> Vec<Vec<&Step>> {
        let mut stages: Vec<Vec<&Step>> = Vec::new();
        for step in &self.steps {
            match stages.last_mut() {
                Some(current) if current[0].stage == step.stage => current.push(step),
                _ => stages.push(vec![step]),
            }
        }
        stages
    }

    pub fn extend(&mut self, other: Plan) {
        self.steps.extend(other.steps);
    }
}

/// `vagrant up` when any machine is not running.
pub fn machines_up(lab: &Lab, seen: &Observed) -> Plan {
    let to_boot: Vec<String> = lab
        .machines
        .iter()
        .filter(|m| !seen.is_running(&m.name))
        .map(|m| m.name.clone())
        .collect();
    let not_running: Vec<String> = to_boot
        .iter()
        .map(|name| {
            let state = seen.vm(name).map_or("unknown", |v| v.state.as_str());
            format!("{name} {}", state.replace('_', " "))
        })
        .collect();
    if not_running.is_empty() {
        return Plan::default();
    }
    let mut steps = lost_containers(lab, seen, Stage::Machines);
    let missing = match lab.provider {
        crate::model::Provider::Virtualbox | crate::model::Provider::Libvirt => seen
            .boxes
            .as_ref()
            .is_some_and(|b| !vagrant::box_installed(&lab.profile, lab.provider, b)),
        crate::model::Provider::Docker => seen.image_present == Some(false),
    };
    if missing {
        if let Some(add) = vagrant::local_add(
            &lab.profile,
            &lab.root,
            lab.provider,
            vagrant::box_arch(seen.vagrant_version),
        ) {
            steps.push(Step {
                stage: Stage::Machines,
                machine: None,
                hook: "box",
                reason: "the box is not on this host; its local copy is used".into(),
                action: Action::Run { command: add },
            });
        }
    }
    for (image, archive) in &seen.pack_images {
        steps.push(Step {
            stage: Stage::Machines,
            machine: None,
            hook: "images",
            reason: format!("{image} is not on this host; the pack has it"),
            action: Action::Run {
                command: crate::tools::images::load_on_host(archive),
            },
        });
    }
    steps.push(Step {
        stage: Stage::Machines,
        machine: None,
        hook: "vagrant",
        reason: not_running.join(", "),
        action: Action::Run {
            command: vagrant::up(
                lab,
                if to_boot.len() == lab.machines.len() {
                    &[]
                } else {
                    &to_boot
                },
            ),
        },
    });
    Plan::from_steps(steps)
}

/// Containers of this lab's machines that Vagrant does not know (an
/// interrupted create leaves its container, and Vagrant's record of it says
/// "preparing"): removed, with Vagrant's record, so that Vagrant can create
/// the machine again, or so that nothing stays behind.
pub fn lost_containers(lab: &Lab, seen: &Observed, stage: Stage) -> Vec<Step> {
    let mut steps = Vec::new();
    for m in &lab.machines {
        let state = seen.vm(&m.name).map_or("not_created", |v| v.state.as_str());
        if !matches!(state, "not_created" | "preparing") {
            continue;
        }
        let container = lab.host_name(&m.name);
        if seen.host_containers.contains(&container) {
            steps.push(Step {
                stage,
                machine: None,
                hook: "vagrant",
                reason: format!("Vagrant lost track of {}'s container ({state})", m.name),
                action: Action::Run {
                    command: Cmd::new(
                        crate::process::tool::Tool::Docker,
                        ["rm", "-f", "-v", container.as_str()],
                    ),
                },
            });
        }
        if state == "preparing" {
            steps.push(Step {
                stage,
                machine: None,
                hook: "vagrant",
                reason: format!(
                    "Vagrant's record of {} is from a create that never finished",
                    m.name
                ),
                action: Action::RemoveDir {
                    path: lab
                        .state_dir()
                        .join(".vagrant")
                        .join("machines")
                        .join(&m.name),
                },
            });
        }
    }
    steps
}

/// `vagrant halt` for these machines.
pub fn halt(lab: &Lab, machines: &[String]) -> Plan {
    halt_because(
        lab,
        machines,
        format!(
            "{} must be started again to be connected",
            machines.join(", ")
        ),
    )
}

/// `vagrant halt` for these machines, for `reason`; nothing when none.
pub fn halt_because(lab: &Lab, machines: &[String], reason: String) -> Plan {
    if machines.is_empty() {
        return Plan::default();
    }
    Plan::from_steps(vec![Step {
        stage: Stage::Machines,
        machine: None,
        hook: "vagrant",
        reason,
        action: Action::Run {
            command: vagrant::halt(lab, machines),
        },
    }])
}
