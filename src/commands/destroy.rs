//! `lab destroy`: unregister, destroy the machines, leave the list of labs,
//! forget the state — for
//! everything the lab recorded making, under today's name or an earlier
//! one, and nothing else.

use crate::session::Session;

use crate::cli::PlanArgs;
use crate::model::Lab;
use crate::process::tool::Tool;
use crate::reconcile::execute::execute;
use crate::reconcile::hooks::{self, Hook};
use crate::reconcile::observe::{self};
use crate::reconcile::plan::Plan;
use crate::ui::Ui;

const RETRY: &str = "fix the cause and run `lab destroy` again: it skips what is already gone";

/// The labs to take down: this lab.toml's as recorded in each state
/// directory (today's name first), else as lab.toml describes it.
pub fn targets(lab: &Lab) -> Vec<Lab> {
    let mut targets = vec![crate::host::record::load(&lab.state_dir())
        .ok()
        .flatten()
        .map_or_else(|| lab.clone(), |r| r.lab(lab))];
    targets.extend(
        crate::host::record::elsewhere(lab)
            .iter()
            .map(|r| r.lab(lab)),
    );
    targets
}

pub async fn run(lab: &Lab, args: &PlanArgs, session: &Session) -> anyhow::Result<()> {
    let targets = targets(lab);
    if args.dry_run {
        let mut whole = Plan::default();
        for target in &targets {
            whole.extend(
                super::dry_run::plan(target, crate::reconcile::planner::destroy, session).await,
            );
        }
        return super::dry_run::show(&whole, args.json);
    }
    let hooks = hooks::standard();
    let ui = session.ui();
    let mut did = false;
    for target in &targets {
        did |= destroy(target, &hooks, &ui, session).await?;
    }
    if did {
        ui.say("the lab is gone");
    } else {
        ui.say(
            "nothing to destroy: no machine, docker-machine entry, certificate or .lab state of this lab exists",
        );
    }
    Ok(())
}

/// Takes down one lab as recorded; whether there was anything to do.
async fn destroy(
    lab: &Lab,
    hooks: &[Box<dyn Hook>],
    ui: &Ui,
    session: &Session,
) -> anyhow::Result<bool> {
    let mut tools = vec![Tool::Vagrant];
    if lab.provider == crate::model::Provider::Docker {
        tools.push(Tool::Docker);
    }
    tools.extend(crate::reconcile::driver::of(lab).program());
    let state = lab.state_dir();
    let (runner, _lock) = super::on_existing_lab(lab, &tools, "destroy", session)?;
    // `.vagrant` is Vagrant's only record of the machines; without a
    // Vagrantfile that lists them all (machines lab.toml no longer names
    // among them) Vagrant would not see them, and they would outlive it.
    if state.join(".vagrant").exists() {
        super::write_vagrantfile(lab)?;
    }
    let seen = observe::for_destroy(&runner, lab).await?;
    for warning in &seen.warnings {
        ui.warn(warning);
    }
    for thing in &seen.foreign {
        ui.warn(&format!(
            "warning: left alone: {thing}, which this lab did not make"
        ));
    }
    // The lab leaves the list in the plan, under its own lock and before
    // the lock's directory goes.
    let plan = crate::reconcile::planner::destroy(lab, &seen, hooks);
    if !plan.is_empty() {
        execute(&plan, &runner, ui, RETRY).await?;
    }
    Ok(!plan.is_empty())
}
