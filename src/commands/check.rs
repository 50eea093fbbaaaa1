//! `lab check EXERCISE`: this lab against an exercise, one PASS/FAIL per
//! check with what was seen, then the score; or one `lab.check/1` JSON
//! document. Exit 5 when a check fails.

use std::time::SystemTime;

use crate::checks::exercise::{self, Outcome};
use crate::cli::CheckArgs;
use crate::error::CheckFailed;
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
    let runner = session.reader(&crate::process::runner::Tool::needed_by(lab))?;
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
        return Err(CheckFailed {
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
        "started": rfc3339(started),
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

/// `2026-12-03T10:00:00Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil, for the proleptic Gregorian calendar.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_in_rfc3339() {
        let at = |s: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_289_000), "2026-12-03T09:10:00Z");
        assert_eq!(at(1_796_293_800), "2026-12-03T10:30:00Z");
    }
}
