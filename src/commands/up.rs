//! `lab up`: machines, addresses, then the create hooks.

use crate::session::Session;

use crate::cli::UpArgs;
use crate::host::record::Record;
use crate::model::{EngineDriver, Lab, Role};
use crate::reconcile::execute::execute;
use crate::reconcile::hooks;
use crate::reconcile::observe::{self, Observed};
use crate::reconcile::plan;
use crate::ui::Ui;
use anyhow::Context as _;

/// In the state directory while a `vagrant up` that lab started runs.
const UNFINISHED: &str = "vagrant-up.unfinished";

/// Running machines whose private interface is missing.
async fn half_made_machines(
    runner: &crate::process::runner::Runner,
    lab: &Lab,
    seen: &Observed,
) -> anyhow::Result<Vec<String>> {
    let ssh = observe::ssh_configs(runner, lab, &seen.vms).await?;
    Ok(observe::addresses_each(runner, lab, &ssh)
        .await
        .into_iter()
        .filter(|(_, r)| r.as_ref().is_err_and(|e| e.contains("has no interface")))
        .map(|(name, _)| name)
        .collect())
}

/// A lab this lab.toml built under another name is taken down first:
/// building beside it would leave it running with nothing to find it by.
fn not_renamed(lab: &Lab) -> anyhow::Result<()> {
    let Some(old) = crate::host::record::elsewhere(lab).into_iter().next() else {
        return Ok(());
    };
    Err(crate::reconcile::observe::NotOurs {
        things: vec![format!(
            "lab `{}`, which this lab.toml built before its name changed (its machines are `{}-...`)",
            old.name, old.name
        )],
        file: lab.file.clone(),
    })
    .context("run `lab destroy` first: it takes the lab down under its old name too; then `lab up`")
}

/// Before anything runs: the lab's record, claiming what lab.toml
/// describes now. What bears the lab's names on this host but is not its
/// own (another lab's container, the user's docker-machine VM) stops `up`
/// here.
async fn own(runner: &crate::process::runner::Runner, lab: &Lab, ui: &Ui) -> anyhow::Result<()> {
    let dir = crate::host::state::ensure(lab)?;
    let recorded = crate::host::record::load(&dir)?;
    // A lab built before lab kept records: Vagrant's own ids show which
    // machines it made, and docker-machine entries on them are adopted.
    let adopt = recorded.is_none() && dir.join("Vagrantfile").exists();
    let mut record = recorded.unwrap_or_else(|| Record::new(lab));
    let mut foreign = Vec::new();
    if lab.engine == EngineDriver::DockerMachine {
        let mut found = observe::docker_machines(runner, lab, &record).await?;
        if adopt {
            let made = crate::host::record::vagrant_ids(lab);
            found.foreign.retain(|thing| {
                let Some(m) = lab.machines.iter().find(|m| {
                    made.contains_key(&m.name)
                        && thing.starts_with(&format!("docker-machine entry `{}` (driver {}", lab.dm_name(&m.name), crate::host::record::DRIVER))
                }) else {
                    return true;
                };
                ui.say(&format!("{}'s docker-machine entry was made by an earlier lab; it is recorded as this lab's", m.name));
                record.docker_machine.insert(
                    lab.dm_name(&m.name),
                    crate::host::record::DmRecord {
                        machine: m.name.clone(),
                        driver: crate::host::record::DRIVER.into(),
                        address: None,
                    },
                );
                false
            });
        }
        foreign.extend(found.foreign);
    }
    foreign.extend(
        observe::host_containers(runner, lab, &record)
            .await?
            .foreign,
    );
    if !foreign.is_empty() {
        return Err(crate::reconcile::observe::NotOurs {
            things: foreign,
            file: lab.file.clone(),
        }
        .into());
    }
    record.claim(lab);
    record.save(&dir)
}

/// Where each docker-machine entry the lab made points now, into the record.
fn note_addresses(lab: &Lab, seen: &Observed) -> anyhow::Result<()> {
    let dir = lab.state_dir();
    let Some(mut record) = crate::host::record::load(&dir)? else {
        return Ok(());
    };
    let before = record.clone();
    for (machine, entry) in &seen.dm {
        if let Some(made) = record.docker_machine.get_mut(&lab.dm_name(machine)) {
            made.address = (!entry.url.is_empty()).then(|| entry.url.clone());
        }
    }
    if record != before {
        record.save(&dir)?;
    }
    Ok(())
}

/// Vagrant's ids for the machines it made, into the record.
fn note_vagrant_ids(lab: &Lab) -> anyhow::Result<()> {
    let dir = lab.state_dir();
    let Some(mut record) = crate::host::record::load(&dir)? else {
        return Ok(());
    };
    let before = record.clone();
    for (machine, id) in crate::host::record::vagrant_ids(lab) {
        if let Some(made) = record.machines.get_mut(&machine) {
            made.vagrant_id = Some(id);
        }
    }
    if record != before {
        record.save(&dir)?;
    }
    Ok(())
}

const RETRY: &str =
    "fix the cause and run `lab up` again: it keeps what is done and redoes only what is missing";

pub async fn run(lab: &Lab, args: &UpArgs, session: &Session) -> anyhow::Result<()> {
    if args.plan.dry_run {
        return super::dry_run::print(lab, args.plan.json, crate::reconcile::planner::up, session)
            .await;
    }
    let ui = session.ui();
    if !args.skip_doctor {
        super::doctor::preflight(lab, &ui, session).await?;
    }
    let hooks = hooks::standard();
    let runner = session.runner(lab, &crate::process::runner::Tool::needed_by(lab))?;
    let _lock = crate::host::state::lock(lab, "up")?;
    not_renamed(lab)?;
    let lab = &crate::host::registry::claim(&crate::host::registry::path()?, lab.clone())?;
    own(&runner, lab, &ui).await?;
    super::write_vagrantfile(lab)?;

    let mut seen = Observed {
        vms: observe::vms(&runner, lab).await?,
        ..Observed::default()
    };
    // A `vagrant up` that was stopped half-way can leave a machine running
    // without its private network: it is halted, so that `vagrant up`
    // starts it again and connects it.
    let unfinished = lab.state_dir().join(UNFINISHED);
    if unfinished.exists() {
        let half_made = half_made_machines(&runner, lab, &seen).await?;
        if !half_made.is_empty() {
            ui.say(&format!(
                "the last `vagrant up` was stopped half-way; {} lack their private network",
                half_made.join(", ")
            ));
            execute(&plan::halt(lab, &half_made), &runner, &ui, RETRY).await?;
            seen.vms = observe::vms(&runner, lab).await?;
        }
    }
    if lab.machines.iter().any(|m| !seen.is_running(&m.name)) {
        observe::box_or_image(&runner, lab, &mut seen).await?;
        let record = crate::host::record::of(lab);
        seen.host_containers = observe::host_containers(&runner, lab, &record).await?.ours;
    }
    let machines_up = plan::machines_up(lab, &seen);
    if !machines_up.is_empty() {
        std::fs::write(
            &unfinished,
            "a `vagrant up` started by lab has not finished\n",
        )?;
    }
    let result = execute(&machines_up, &runner, &ui, RETRY).await;
    note_vagrant_ids(lab)?;
    result?;
    let _ = std::fs::remove_file(&unfinished);
    if !machines_up.is_empty() {
        // `vagrant up` succeeded, so every machine is running now.
        for vm in &mut seen.vms {
            vm.state = crate::tools::vagrant::VmState::Running;
        }
    }

    ui.say("reading SSH settings, private addresses and the engines' state");
    let mut seen = observe::everything(&runner, lab, seen.vms).await?;
    let plan = crate::reconcile::planner::create_hooks(lab, &seen, &hooks);
    if plan.is_empty() {
        ui.say("every engine, service and swarm member is in place: nothing to do");
    }
    execute(&plan, &runner, &ui, RETRY).await?;
    // Engines set up by this run could not be asked before it; ask them now
    // and finish what that shows (a node's stale entry in the swarm, say).
    for _ in 0..2 {
        if plan.is_empty() {
            break;
        }
        if lab.engine == EngineDriver::DockerMachine {
            let record = crate::host::record::of(lab);
            seen.dm = observe::docker_machines(&runner, lab, &record).await?.ours;
        }
        seen.ca_ready = lab.engine == EngineDriver::Native && observe::ca_ready(lab);
        observe::engines_and_services(&runner, lab, &mut seen).await?;
        let more = crate::reconcile::planner::create_hooks(lab, &seen, &hooks);
        if more.is_empty() {
            break;
        }
        ui.say("finishing what the new engines show");
        execute(&more, &runner, &ui, RETRY).await?;
    }
    note_addresses(lab, &seen)?;

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
