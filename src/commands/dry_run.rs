//! `--dry-run` of `up` and `destroy`: the plan from what can be seen, printed.

use crate::model::{EngineDriver, Lab};
use crate::process::runner::{Tool, Tools};
use crate::reconcile::hooks::{self, Hook};
use crate::reconcile::observe::{self, Observed};
use crate::reconcile::plan::Plan;
use crate::session::Session;

/// What a dry run can see without changing anything; what it cannot see
/// (a missing program, machines not up yet) is assumed not to exist.
async fn look(lab: &Lab, session: &Session) -> Observed {
    let (tools, missing) = Tools::available(&crate::process::runner::Tool::needed_by(lab));
    for tool in &missing {
        eprintln!(
            "note: {tool} is not installed; the plan assumes what it would report is not there"
        );
    }
    let runner = session.runner_with(tools.clone());
    let record = crate::host::record::of(lab);
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
    let vm_tool = match lab.provider {
        crate::model::Provider::Virtualbox => Tool::Vagrant,
        crate::model::Provider::Docker => Tool::Docker,
    };
    if tools.has(vm_tool) && lab.machines.iter().any(|m| !seen.is_running(&m.name)) {
        if let Err(e) = observe::box_or_image(&runner, lab, &mut seen).await {
            eprintln!("note: {e:#}");
        }
        if tools.has(Tool::Docker) {
            let found = observe::host_containers(&runner, lab, &record)
                .await
                .unwrap_or_default();
            seen.host_containers = found.ours;
            seen.foreign.extend(found.foreign);
        }
    }
    seen.ca_ready = lab.engine == EngineDriver::Native && observe::ca_ready(lab);
    if lab.engine == EngineDriver::DockerMachine && tools.has(Tool::DockerMachine) {
        match observe::docker_machines(&runner, lab, &record).await {
            Ok(found) => {
                seen.dm = found.ours;
                seen.foreign.extend(found.foreign);
            }
            Err(e) => eprintln!("note: {e:#}"),
        }
    }
    if tools.has(Tool::Docker) {
        if let Err(e) = observe::engines_and_services(&runner, lab, &mut seen).await {
            eprintln!("note: {e:#}");
        }
    }
    seen
}

/// What a dry run would do: look (read-only), plan with the standard hooks.
/// What bears the lab's names but is not its own is said, and left out.
pub async fn plan(
    lab: &Lab,
    planner: fn(&Lab, &Observed, &[Box<dyn Hook>]) -> Plan,
    session: &Session,
) -> Plan {
    let seen = look(lab, session).await;
    for thing in &seen.foreign {
        eprintln!("note: not this lab's, so left alone: {thing}");
    }
    planner(lab, &seen, &hooks::standard())
}

pub fn show(plan: &Plan, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(plan)?);
    } else {
        print!("{plan}");
    }
    Ok(())
}

/// `--dry-run`: the plan, printed.
pub async fn print(
    lab: &Lab,
    json: bool,
    planner: fn(&Lab, &Observed, &[Box<dyn Hook>]) -> Plan,
    session: &Session,
) -> anyhow::Result<()> {
    show(&plan(lab, planner, session).await, json)
}
