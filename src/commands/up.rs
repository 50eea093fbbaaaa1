//! `lab up`: machines, addresses, then the create hooks.

use std::time::Duration;

use crate::cli::UpArgs;
use crate::config::{Lab, Role};
use crate::execute::execute;
use crate::hooks;
use crate::observe::{self, Observed};
use crate::plan;
use crate::ui::Ui;

const RETRY: &str =
    "fix the cause and run `lab up` again: it keeps what is done and redoes only what is missing";

pub async fn run(
    lab: &Lab,
    args: &UpArgs,
    quiet: bool,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    if args.plan.dry_run {
        return super::dry_run::print(lab, args.plan.json, plan::up).await;
    }
    let ui = Ui::new(quiet);
    if !args.skip_doctor {
        super::doctor::preflight(lab, &ui).await?;
    }
    let hooks = hooks::standard();
    let runner = super::runner(lab, &lab.tools(), timeout)?;
    let _lock = crate::state::lock(lab, "up")?;
    crate::registry::register(&crate::registry::path(), lab)?;
    super::write_vagrantfile(lab)?;

    let mut seen = Observed {
        vms: observe::vms(&runner, lab).await?,
        ..Observed::default()
    };
    if lab.machines.iter().any(|m| !seen.is_running(&m.name)) {
        observe::box_or_image(&runner, lab, &mut seen).await?;
    }
    let machines_up = plan::machines_up(lab, &seen);
    execute(&machines_up, &runner, &ui, RETRY).await?;
    if !machines_up.is_empty() {
        // `vagrant up` succeeded, so every machine is running now.
        for vm in &mut seen.vms {
            vm.state = "running".into();
        }
    }

    ui.say("reading SSH settings, private addresses and the engines' state");
    let seen = observe::everything(&runner, lab, seen.vms).await?;
    let plan = plan::create_hooks(lab, &seen, &hooks);
    if plan.is_empty() {
        ui.say("every engine, service and swarm member is in place: nothing to do");
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
