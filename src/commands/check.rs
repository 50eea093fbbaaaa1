//! `lab check EXERCISE`: this lab against an exercise, one PASS/FAIL per
//! check with what was seen, then the score; or one `lab.check/1` JSON
//! document. Exit 5 when a check fails.

use std::time::SystemTime;

use crate::checks::exercise::{self, Outcome};
use crate::cli::CheckArgs;
use crate::error::Error;
use crate::model::exercise::Exercise;
use crate::model::Lab;
use crate::reconcile::observe;
use crate::session::Session;

pub async fn run(lab: &Lab, args: &CheckArgs, session: &Session) -> anyhow::Result<()> {
    let exercise = crate::model::exercise::load(&args.exercise)?;
    if !lab.state_dir().exists() {
        anyhow::bail!(
            "lab `{}` is not built: there is nothing to check\nhint: run `lab up`, then deploy what the exercise asks for",
            lab.name
        );
    }
    let started = SystemTime::now();
    let runner = session.reader(&crate::reconcile::driver::of(lab).tools())?;
    let (seen, _, _) = observe::read_only(&runner, lab).await?;
    let ui = session.ui();
    let task = ui.task("check");
    task.begin(&format!(
        "{} checks of {}",
        exercise.checks.len(),
        args.exercise.display()
    ));
    let total = exercise.checks.len();
    let outcomes = exercise::run(
        &runner,
        lab,
        &seen,
        &exercise,
        &exercise::Scope::default(),
        &|finished, o| task.progress(&progress(finished, total, o)),
    )
    .await;
    task.finish("done");
    let student = args.student.clone().unwrap_or_else(account);
    let points: u32 = outcomes.iter().map(|o| o.points).sum();
    if args.json {
        let document = report(lab, &exercise, &student, started, &outcomes);
        crate::outln!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        crate::outln!("{}: {}", exercise.title, args.exercise.display());
        for outcome in &outcomes {
            crate::outln!("{}", outcome.lines());
        }
        crate::outln!("score: {points}/{}", exercise.max_points());
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed > 0 {
        return Err(Error::CheckFailed {
            failed,
            total: outcomes.len(),
            points,
            max_points: exercise.max_points(),
        }
        .into());
    }
    Ok(())
}

/// `3 of 6 checks done: PASS the swarm has three Ready nodes`.
pub fn progress(finished: usize, total: usize, outcome: &Outcome) -> String {
    format!(
        "{finished} of {total} checks done: {} {}",
        if outcome.passed { "PASS" } else { "FAIL" },
        outcome.name
    )
}

/// `lab check --json`, schema [`CHECK`](crate::model::schema::CHECK).
pub fn report(
    lab: &Lab,
    exercise: &Exercise,
    student: &str,
    started: SystemTime,
    outcomes: &[Outcome],
) -> serde_json::Value {
    serde_json::json!({
        "schema": crate::model::schema::CHECK,
        "lab": lab.name,
        "exercise": exercise.file.display().to_string(),
        "title": exercise.title,
        "student": student,
        "host": sysinfo::System::host_name().unwrap_or_default(),
        "started": crate::model::time::rfc3339(started),
        "points": outcomes.iter().map(|o| o.points).sum::<u32>(),
        "max_points": exercise.max_points(),
        "checks": outcomes,
    })
}

/// The account's user name, for a report that names no student.
fn account() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_default()
}
