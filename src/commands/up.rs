//! `lab up`: machines, addresses, then the create hooks.

use std::time::Duration;

use crate::cli::PlanArgs;
use crate::config::{Lab, Role};
use crate::execute::execute;
use crate::hooks;
use crate::observe::{self, Observed};
use crate::plan::{self, Plan};
use crate::runner::{Runner, Tool, Tools};
use crate::ui::Ui;

const RETRY: &str =
    "fix the cause and run `lab up` again: it keeps what is done and redoes only what is missing";

pub async fn run(
    lab: &Lab,
    args: &PlanArgs,
    quiet: bool,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let hooks = hooks::standard();
    if args.dry_run {
        let seen = look(lab).await;
        return print_plan(&plan::up(lab, &seen, &hooks), args.json);
    }
    let runner = super::runner(lab, &Tool::ALL, timeout)?;
    let ui = Ui::new(quiet);
    super::write_vagrantfile(lab)?;

    let mut seen = Observed {
        vms: observe::vms(&runner, lab).await?,
        ..Observed::default()
    };
    let machines_up = plan::machines_up(lab, &seen);
    execute(&machines_up, &runner, &ui, RETRY).await?;
    if !machines_up.is_empty() {
        // `vagrant up` succeeded, so every machine is running now.
        for vm in &mut seen.vms {
            vm.state = "running".into();
        }
    }

    ui.say("reading SSH settings, private addresses and docker-machine's entries");
    let seen = observe::everything(&runner, lab, seen.vms).await?;
    let plan = plan::create_hooks(lab, &seen, &hooks);
    if plan.is_empty() {
        ui.say("every machine is registered and Consul is running: nothing to do");
    }
    execute(&plan, &runner, &ui, RETRY).await?;

    let master = lab
        .machines
        .iter()
        .find(|m| m.role == Role::Master)
        .map_or("swarm-master", |m| m.name.as_str());
    ui.say(&format!(
        "the lab is up. Point Docker at the swarm with: eval \"$(lab env {master})\""
    ));
    Ok(())
}

/// What a dry run can see without changing anything; what it cannot see
/// (a missing program, machines not up yet) is assumed not to exist.
pub async fn look(lab: &Lab) -> Observed {
    let (tools, missing) = Tools::available(&Tool::ALL);
    for tool in &missing {
        eprintln!(
            "note: {tool} is not installed; the plan assumes what it would report is not there"
        );
    }
    let runner = Runner::new(tools.clone());
    let mut seen = Observed {
        vms: observe::none_created(lab),
        ..Observed::default()
    };
    if tools.has(Tool::Vagrant) {
        match observe::vms(&runner, lab).await {
            Ok(vms) => seen.vms = vms,
            Err(e) => eprintln!("note: {e:#}"),
        }
    }
    if tools.has(Tool::Vagrant)
        && tools.has(Tool::Ssh)
        && lab.machines.iter().all(|m| seen.is_running(&m.name))
    {
        if let Ok(ssh) = observe::ssh_configs(&runner, lab, &seen.vms).await {
            for (name, result) in observe::addresses_each(&runner, lab, &ssh).await {
                match result {
                    Ok(ip) => {
                        seen.ips.insert(name, ip);
                    }
                    Err(e) => eprintln!("note: {e}"),
                }
            }
            seen.ssh = ssh;
        }
    }
    if tools.has(Tool::DockerMachine) {
        match observe::docker_machines(&runner, lab).await {
            Ok(dm) => seen.dm = dm,
            Err(e) => eprintln!("note: {e:#}"),
        }
        if tools.has(Tool::Docker) {
            seen.consul_container = observe::consul_container(&runner, lab, &seen.dm)
                .await
                .unwrap_or_default();
        }
    }
    seen
}

pub fn print_plan(plan: &Plan, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(plan)?);
    } else {
        print!("{plan}");
    }
    Ok(())
}
