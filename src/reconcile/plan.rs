//! Plans are data: stages, actions and steps, printable and comparable.
//! `planner.rs` makes them from lab.toml and what is observed; `--dry-run`
//! prints them; tests assert on them.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::process::process_builder::{quote, Cmd};
use crate::tools::engine::Engine;

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
