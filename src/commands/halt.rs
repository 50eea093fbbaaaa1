//! `lab halt`: every running machine stopped, everything else kept (the
//! record, certificates, docker-machine entries, the swarm's state on the
//! machines' disks). `lab up` brings the same lab back.

use crate::cli::PlanArgs;
use crate::model::Lab;
use crate::process::tool::Tool;
use crate::reconcile::execute::execute;
use crate::reconcile::{observe, planner};
use crate::session::Session;

const RETRY: &str = "fix the cause and run `lab halt` again: it stops what still runs";

pub async fn run(lab: &Lab, args: &PlanArgs, session: &Session) -> anyhow::Result<()> {
    let ui = session.ui();
    let (runner, _lock) = if args.dry_run {
        (session.reader(&[Tool::Vagrant])?, None)
    } else {
        super::on_existing_lab(lab, &[Tool::Vagrant], "halt", session)?
    };
    let running: Vec<String> = observe::vms(&runner, lab)
        .await?
        .into_iter()
        .filter(|v| v.is_running())
        .map(|v| v.name)
        .collect();
    let plan = planner::halt_because(
        lab,
        &running,
        format!("running: {}; `lab up` brings them back", running.join(", ")),
    );
    if args.dry_run {
        return super::dry_run::show(&plan, args.json);
    }
    if plan.is_empty() {
        ui.say("nothing to halt: no machine of this lab is running");
        return Ok(());
    }
    execute(&plan, &runner, &ui, RETRY).await?;
    ui.say("the lab is halted; `lab up` brings it back as it was");
    Ok(())
}
