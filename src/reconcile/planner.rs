//! Every plan lab makes, in one place: the machines' steps (boot, halt),
//! then each hook's for each machine. Hooks plan with the plan's types;
//! this puts them together.

use crate::model::{Lab, Machine};
use crate::reconcile::hooks::Hook;
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::{Action, Plan, Stage, Step};
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
                    command: crate::tools::containers::remove_with_volumes(&container),
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
    use crate::reconcile::plan::*;
    use crate::tools::containers::ContainerState;
    // Only the tests with Unix paths use it.
    #[cfg(unix)]
    use crate::tools::vagrant::VmStatus;
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
        let plan = destroy(&lab, &seen, &crate::reconcile::hooks::standard());
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
        let plan = destroy(&lab, &seen, &crate::reconcile::hooks::standard());
        assert!(!plan
            .steps
            .iter()
            .any(|s| matches!(s.action, Action::Unlist { .. })));
    }
}
