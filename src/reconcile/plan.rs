//! Plans are data: config + observed state → the steps that bring the lab
//! where lab.toml says. `--dry-run` prints them; tests assert on them.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::model::Lab;
use crate::process::runner::{quote, Cmd};
use crate::reconcile::observe::Observed;
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
                        crate::process::runner::Tool::Docker,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::observe::ContainerState;
    use crate::reconcile::planner::up;
    // Only the tests with Unix paths use these.
    #[cfg(unix)]
    use crate::{reconcile::planner::destroy, tools::vagrant::VmStatus};
    use std::path::Path;

    fn lab() -> Lab {
        crate::model::parse(
            Path::new("/nonexistent/lab.toml"),
            "box = \"x/y\"\n[swarm]\nnodes = 1\n",
        )
        .unwrap()
    }

    use crate::testdata::all_done;

    fn commands(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| format!("{} {}", s.machine.as_deref().unwrap_or("-"), s.action))
            .collect()
    }

    #[test]
    fn a_finished_lab_plans_nothing() {
        let lab = lab();
        assert!(up(&lab, &all_done(&lab), &crate::reconcile::hooks::standard()).is_empty());
    }

    // The expected lines hold Unix paths.
    #[cfg(unix)]
    #[test]
    fn a_fresh_lab_builds_consul_first_then_the_swarm_together() {
        let lab = lab();
        let mut seen = all_done(&lab);
        seen.dm.clear();
        seen.consul_container = ContainerState::Unknown;
        let plan = up(&lab, &seen, &crate::reconcile::hooks::standard());
        let stages: Vec<Vec<String>> = plan
            .stages()
            .iter()
            .map(|s| s.iter().map(|st| st.machine.clone().unwrap()).collect())
            .collect();
        assert_eq!(
            stages,
            [
                // consul's create; the others' Docker, which needs no Consul
                vec!["consul", "swarm-master", "swarm-node01"],
                vec!["consul", "consul"],
                vec!["swarm-master", "swarm-node01"]
            ]
        );
        let shown = commands(&plan);
        assert_eq!(shown[0], "consul docker-machine create -d generic --generic-ip-address 10.0.0.2 --generic-ssh-key /k/consul --generic-ssh-port 22 --generic-ssh-user vagrant consul");
        // Docker on the master and the node while Consul comes up.
        assert!(shown[1].contains("curl -fsSL"), "{}", shown[1]);
        assert!(shown[2].contains("curl -fsSL"), "{}", shown[2]);
        // Consul's image from this host first, for machines without a registry.
        assert!(
            shown[3].starts_with("consul docker save progrium/consul | "),
            "{}",
            shown[3]
        );
        assert!(shown[5].ends_with("--swarm --swarm-master --swarm-discovery consul://10.0.0.2:8500 --engine-opt cluster-store=consul://10.0.0.2:8500 --engine-opt cluster-advertise=eth1:2376 swarm-master"), "{}", shown[5]);
    }

    fn parse(text: &str) -> Lab {
        crate::model::parse(Path::new("/nonexistent/lab.toml"), text).unwrap()
    }

    #[test]
    fn docker_machine_in_swarm_mode_registers_every_engine_plainly_then_forms_the_swarm() {
        let lab = parse("box = \"x/y\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n");
        let mut seen = all_done(&lab);
        seen.dm.clear();
        seen.consul_container = ContainerState::Unknown;
        let plan = up(&lab, &seen, &crate::reconcile::hooks::standard());
        let by_stage: Vec<(Stage, String)> = plan
            .steps
            .iter()
            .map(|s| (s.stage, s.action.to_string()))
            .collect();
        let creates: Vec<&(Stage, String)> = by_stage
            .iter()
            .filter(|(_, a)| a.starts_with("docker-machine create"))
            .collect();
        assert_eq!(creates.len(), 3, "{by_stage:#?}");
        assert!(creates.iter().all(|(stage, a)| *stage == Stage::Engines
            && !a.contains("--swarm")
            && !a.contains("cluster-store")));
        let consul_run = by_stage
            .iter()
            .find(|(_, a)| a.contains(" run -d --name consul"))
            .unwrap();
        assert_eq!(consul_run.0, Stage::ConsulService);
        assert!(
            consul_run
                .1
                .starts_with("docker $(docker-machine config consul)"),
            "{}",
            consul_run.1
        );
        assert!(
            by_stage.contains(&(
                Stage::Swarm,
                "docker $(docker-machine config swarm-master) swarm init --advertise-addr 10.0.0.3"
                    .into()
            )),
            "{by_stage:#?}"
        );
        assert!(by_stage
            .iter()
            .any(|(stage, a)| *stage == Stage::Join && a.contains("swarm join")));
    }

    #[test]
    fn native_swarm_with_consul_runs_it_over_tls_after_the_engines() {
        let lab =
            parse("box = \"x/y\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = 1\n");
        let mut seen = all_done(&lab);
        seen.dm.clear();
        seen.consul_container = ContainerState::Unknown;
        let plan = up(&lab, &seen, &crate::reconcile::hooks::standard());
        let consul: Vec<&Step> = plan.steps.iter().filter(|s| s.hook == "consul").collect();
        assert_eq!(consul.len(), 2);
        assert!(matches!(consul[0].action, Action::CopyImage { .. }));
        assert_eq!(consul[1].stage, Stage::ConsulService);
        assert!(
            consul[1]
                .action
                .to_string()
                .contains("docker --tlsverify -H tcp://10.0.0.2:2376 run -d --name consul"),
            "{}",
            consul[1].action
        );
        assert!(plan
            .steps
            .iter()
            .all(|s| !s.action.to_string().contains("docker-machine")));
        let first_engine_step = plan
            .steps
            .iter()
            .position(|s| s.stage == Stage::Engines)
            .unwrap();
        assert_eq!(plan.steps[first_engine_step - 1].stage, Stage::Ca);
    }

    // The expected lines hold Unix paths.
    #[cfg(unix)]
    #[test]
    fn containers_vagrant_lost_are_removed_before_up_and_on_destroy() {
        let lab = parse(
            "name = \"c\"\nprovider = \"docker\"\nbox = \"debian-docker\"\n[swarm]\nnodes = 1\n",
        );
        let mut seen = Observed::default();
        for m in &lab.machines {
            seen.vms.push(VmStatus {
                name: m.name.clone(),
                provider: "docker".into(),
                state: crate::tools::vagrant::VmState::Running,
            });
        }
        seen.vms[2].state = crate::tools::vagrant::VmState::Preparing;
        seen.host_containers = vec![
            "c-consul".into(),
            "c-swarm-master".into(),
            "c-swarm-node01".into(),
        ];
        let shown = commands(&machines_up(&lab, &seen));
        assert_eq!(
            shown,
            [
                "- docker rm -f -v c-swarm-node01",
                "- rm -rf /nonexistent/.lab-c/.vagrant/machines/swarm-node01",
                "- VAGRANT_CWD=/nonexistent/.lab-c vagrant up --provider=docker --machine-readable swarm-node01",
            ]
        );
        let shown = commands(&destroy(&lab, &seen, &[]));
        assert_eq!(shown[0], "- docker rm -f -v c-swarm-node01", "{shown:?}");
        assert!(
            shown.iter().any(|s| s.contains("vagrant destroy")),
            "{shown:?}"
        );
    }

    #[test]
    fn a_failed_create_is_removed_and_redone_alone() {
        let lab = lab();
        let mut seen = all_done(&lab);
        let node = seen.dm.get_mut("swarm-node01").unwrap();
        node.docker = "Unknown".into();
        node.error =
            "Unable to query docker version: Cannot connect to the docker engine endpoint".into();
        let plan = up(&lab, &seen, &crate::reconcile::hooks::standard());
        let shown = commands(&plan);
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!(shown[0], "swarm-node01 docker-machine rm -y swarm-node01");
        assert!(
            shown[1].starts_with("swarm-node01 docker-machine create")
                && shown[1].ends_with(" swarm-node01")
        );
        assert!(plan.steps[0]
            .reason
            .contains("Unable to query docker version"));
    }

    #[test]
    fn a_machine_at_a_new_address_is_registered_again() {
        let lab = lab();
        let mut seen = all_done(&lab);
        seen.ips
            .insert("swarm-master".into(), "10.0.0.99".parse().unwrap());
        let shown = commands(&up(&lab, &seen, &crate::reconcile::hooks::standard()));
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[1].contains("--generic-ip-address 10.0.0.99"));
    }

    // The expected lines hold Unix paths.
    #[cfg(unix)]
    #[test]
    fn a_stopped_machine_is_brought_up_and_a_stopped_consul_started() {
        let lab = lab();
        let mut seen = all_done(&lab);
        seen.vms[2].state = crate::tools::vagrant::VmState::parse("poweroff");
        seen.consul_container = ContainerState::Stopped;
        let plan = up(&lab, &seen, &crate::reconcile::hooks::standard());
        let shown = commands(&plan);
        assert_eq!(
            shown[0],
            "- VAGRANT_CWD=/nonexistent/.lab vagrant up --provider=virtualbox --machine-readable swarm-node01"
        );
        assert_eq!(plan.steps[0].reason, "swarm-node01 poweroff");
        assert_eq!(
            shown[1],
            "consul docker $(docker-machine config consul) start consul"
        );
    }

    // The expected lines hold Unix paths.
    #[cfg(unix)]
    #[test]
    fn destroy_unregisters_only_what_is_registered() {
        let lab = lab();
        let mut seen = all_done(&lab);
        seen.dm.remove("swarm-node01");
        let shown = commands(&destroy(&lab, &seen, &crate::reconcile::hooks::standard()));
        assert_eq!(
            shown,
            [
                "consul docker-machine rm -y consul",
                "swarm-master docker-machine rm -y swarm-master",
                "- VAGRANT_CWD=/nonexistent/.lab vagrant destroy -f",
            ]
        );
        let nothing = Observed {
            vms: crate::reconcile::observe::none_created(&lab),
            ..Observed::default()
        };
        assert!(destroy(&lab, &nothing, &crate::reconcile::hooks::standard()).is_empty());
    }

    // The lab's lock lives in its state directory: leaving the list after
    // that directory went would leave it without the lock, where an `up`
    // that started meanwhile could lose its new entry.
    #[test]
    fn destroy_leaves_the_list_of_labs_before_its_state_directory_goes() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("lab.toml");
        std::fs::write(&file, "box = \"x/y\"\n").unwrap();
        let lab = crate::model::parse(&file, "box = \"x/y\"\n").unwrap();
        std::fs::create_dir_all(lab.state_dir()).unwrap();
        let mut seen = all_done(&lab);
        seen.listed = Some(crate::host::registry::Listing {
            list: tmp.path().join("labs.json"),
            file: file.clone(),
            id: Some("abc".into()),
        });
        let plan =
            crate::reconcile::planner::destroy(&lab, &seen, &crate::reconcile::hooks::standard());
        let kinds: Vec<&str> = plan
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Unlist { .. } => Some("unlist"),
                Action::RemoveDir { .. } => Some("remove"),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["unlist", "remove"]);
        seen.listed = None;
        let plan =
            crate::reconcile::planner::destroy(&lab, &seen, &crate::reconcile::hooks::standard());
        assert!(!plan
            .steps
            .iter()
            .any(|s| matches!(s.action, Action::Unlist { .. })));
    }
}
