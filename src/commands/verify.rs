//! `lab verify`: one line per check, exit 0 only when all pass.

use crate::session::Session;

use crate::checks::probes::{classic_nodes, probes, Report};
use crate::checks::report::Check;
use crate::checks::verify;
use crate::cli::VerifyArgs;
use crate::error::Error;
use crate::model::{Lab, Mode};
use crate::reconcile::observe;

pub async fn run(lab: &Lab, args: &VerifyArgs, session: &Session) -> anyhow::Result<()> {
    let runner = if lab.state_dir().exists() {
        session.runner(lab, &crate::reconcile::driver::of(lab).tools())?
    } else {
        session.reader(&crate::reconcile::driver::of(lab).tools())?
    };
    let began = std::time::Instant::now();
    let (seen, _, problem) = observe::read_only(&runner, lab).await?;
    let mut report = Report {
        json: args.json,
        ..Report::default()
    };
    report
        .timings
        .steps
        .push(("the lab read".into(), began.elapsed()));
    for check in verify::static_checks(lab, &seen) {
        report.add(check);
    }
    if let Some(problem) = problem {
        report.add(Check::fail("lab state", problem));
    }
    if lab.mode == Mode::Classic && report.checks.iter().all(|c| c.passed) {
        report.add(classic_nodes(&runner, lab).await);
    }
    if report.checks.iter().all(|c| c.passed) {
        probes(&runner, lab, &seen, &mut report).await;
    } else {
        report.add(Check::fail(
            "probes",
            "not started: the checks above must pass first",
        ));
    }

    if session.verbose {
        for line in report.timings.lines(began.elapsed()) {
            crate::errln!("{line}");
        }
    }
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    if args.json {
        crate::outln!(
            "{}",
            crate::checks::report::report(crate::model::schema::VERIFY, &lab.name, &report.checks)
        );
    }
    if failed > 0 {
        // A drill left in place is the likely cause, and says so.
        for fault in crate::host::record::of(lab).faults {
            crate::errln!(
                "note: a fault drill is in place, the likely cause: {}: {} (`lab fault clear {}` undoes it)",
                fault.machine,
                fault.detail,
                fault.machine
            );
        }
        return Err(Error::VerifyFailed {
            failed,
            total: report.checks.len(),
        }
        .into());
    }
    Ok(())
}
