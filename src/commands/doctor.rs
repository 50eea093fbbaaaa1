//! `lab doctor`, and the same checks before `lab up`: can this host build
//! this lab? Each check says what it found and, when something is wrong,
//! what to do.

pub use crate::error::DoctorFailed;
use crate::session::Session;

use crate::checks::host;
use crate::checks::report::Check;
use crate::cli::DoctorArgs;
use crate::model::Lab;
use crate::process::runner::{Tool, Tools};
use crate::ui::Ui;

/// Every check, and the programs that are missing.
async fn checks(lab: &Lab, session: &Session) -> (Vec<Check>, Vec<Tool>) {
    let (tools, missing) = Tools::available(&host::wanted(lab));
    let runner = session.runner_with(tools);
    (host::all(lab, &runner, &missing).await, missing)
}

pub async fn run(lab: &Lab, args: &DoctorArgs, session: &Session) -> anyhow::Result<()> {
    let (checks, _) = checks(lab, session).await;
    let failed = checks.iter().filter(|c| !c.passed).count();
    if args.json {
        crate::outln!(
            "{}",
            crate::checks::report::report(crate::model::schema::DOCTOR, &lab.name, &checks)
        );
    } else {
        for check in &checks {
            crate::outln!("{}", check.line());
        }
    }
    if failed > 0 {
        return Err(DoctorFailed { failed }.into());
    }
    Ok(())
}

/// Before `lab up`: only what needs attention is shown.
pub async fn preflight(lab: &Lab, ui: &Ui, session: &Session) -> anyhow::Result<()> {
    let (checks, missing) = checks(lab, session).await;
    if !missing.is_empty() {
        // The same error (and exit code 4) as any command that lacks a program.
        return Err(crate::process::runner::missing(&missing).into());
    }
    for check in checks.iter().filter(|c| !c.passed || c.warning) {
        ui.warn(&format!("doctor: {}", check.line()));
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    if failed > 0 {
        return Err(DoctorFailed { failed }.into());
    }
    Ok(())
}
