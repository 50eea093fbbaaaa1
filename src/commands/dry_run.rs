//! `--dry-run` of `up` and `destroy`: the plan from what can be seen, printed.

use crate::model::Lab;
use crate::process::tool::Tools;
use crate::reconcile::hooks::{self, Hook};
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::reconcile::plan::Plan;
use crate::session::Session;

/// What a dry run can see, with what it could not said as notes.
pub async fn look(lab: &Lab, session: &Session) -> Observed {
    let (tools, missing) = Tools::available(&crate::reconcile::driver::of(lab).tools());
    for tool in &missing {
        crate::errln!(
            "note: {tool} is not installed; the plan assumes what it would report is not there"
        );
    }
    let runner = session.runner_with(tools.clone());
    let (seen, notes) = observe::for_dry_run(&runner, lab, &tools).await;
    for note in notes {
        crate::errln!("note: {note}");
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
        crate::errln!("note: not this lab's, so left alone: {thing}");
    }
    planner(lab, &seen, &hooks::standard())
}

pub fn show(plan: &Plan, json: bool) -> anyhow::Result<()> {
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&crate::reconcile::graph::view(plan))?
        );
    } else {
        crate::out!("{plan}");
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
