//! `lab grade EXERCISE SUBMISSION...`: a class graded on the instructor's
//! lab, one submission after another: its stack deployed as `lab deploy`
//! does, the exercise's checks run on that stack only, the stack removed.
//! `--reports` merges students' own `lab check --json` reports instead.
//! Either way: grades.csv, grades.html and a lab.check/1 report each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context as _};

use crate::checks::exercise::{self, Scope};
use crate::checks::grades::{row_from_report, Row, Sheet, Source};
use crate::checks::verify::{on, on_swarm, words};
use crate::cli::GradeArgs;
use crate::model::exercise::Exercise;
use crate::model::{Lab, Mode, Role};
use crate::process::runner::Runner;
use crate::reconcile::observe::{self, engine_of};
use crate::reconcile::observed::Observed;
use crate::session::Session;
use crate::ui::Task;

/// The prefix of the stacks `lab grade` deploys: `grade-STUDENT`.
const PREFIX: &str = "grade-";
/// How long a removed stack's containers and networks get to go.
const REMOVAL: Duration = Duration::from_secs(120);
/// Docker's service names (STACK_SERVICE) must stay short.
const MAX_STACK_NAME: usize = 40;

/// One student's directory.
#[derive(Debug, Clone)]
struct Submission {
    student: String,
    dir: PathBuf,
    /// The stack this submission is deployed as.
    stack: String,
}

pub async fn run(lab: &Lab, args: &GradeArgs, session: &Session) -> anyhow::Result<()> {
    let exercise = crate::model::exercise::load(&args.exercise)?;
    let Some(stack_file) = exercise.stack.clone() else {
        bail!(
            "{} names no stack file: `lab grade` deploys it from each submission\nhint: add `stack = \"stack.yml\"` at the top of the exercise",
            exercise.file.display()
        );
    };
    if lab.mode != Mode::Swarm {
        bail!(
            "lab `{}` is in classic mode: `lab grade` deploys each submission as a swarm stack\nhint: grade on a lab with mode = \"swarm\", or merge the students' own reports with --reports",
            lab.name
        );
    }
    let submissions = submissions(&args.submissions)?;
    if !lab.state_dir().exists() {
        bail!(
            "lab `{}` is not built: there is nothing to grade on\nhint: run `lab up` first",
            lab.name
        );
    }
    let out = out_dir(&args.out)?;
    let _lock = crate::host::state::lock(lab, "grade")?;
    let runner = session.runner(lab, &crate::reconcile::driver::of(lab).tools())?;
    let (seen, _, _) = observe::read_only(&runner, lab).await?;
    if seen.nodes.is_none() {
        bail!(
            "{} manages no swarm yet\nhint: run `lab up` first",
            lab.master().name
        );
    }
    let ui = session.ui();
    for left in crate::host::record::of(lab).grading {
        ui.say(&format!(
            "removing stack {left}, left by a grading that was stopped"
        ));
        take_away(&runner, lab, &seen, &left).await?;
        forget(lab, &left)?;
    }
    let running = stacks(&runner, lab, &seen).await?;
    if let Some(taken) = submissions.iter().find(|s| running.contains(&s.stack)) {
        bail!(
            "a stack `{}` runs on the swarm, and lab grade did not deploy it: it is left alone\nhint: remove it (`docker stack rm {}` on {}) or rename the submission {}",
            taken.stack,
            taken.stack,
            lab.master().name,
            taken.dir.display()
        );
    }
    if !running.is_empty() {
        ui.warn(&format!(
            "warning: the swarm runs other stacks too ({}): they stay, and a port one of them publishes is not free for the submissions",
            running.join(", ")
        ));
    }

    let started = SystemTime::now();
    let mut sheet = Sheet::new(
        &exercise,
        Source::Graded {
            lab: lab.name.clone(),
        },
        crate::model::time::rfc3339(started),
    );
    let limit = Duration::from_secs(args.timeout);
    for (i, submission) in submissions.iter().enumerate() {
        let task = ui.task(&format!(
            "{} ({} of {})",
            submission.student,
            i + 1,
            submissions.len()
        ));
        let began = SystemTime::now();
        let row = grade_one(
            &runner,
            lab,
            &seen,
            &exercise,
            &stack_file,
            submission,
            limit,
            &task,
        )
        .await?;
        let report =
            super::check::report(lab, &exercise, &submission.student, began, &row.outcomes);
        crate::process::files::write_atomically(
            &out.join(format!("{}.json", submission.student)),
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
        task.finish(&format!("{}/{}", row.points(), exercise.max_points()));
        sheet.rows.push(row);
        // Written after every student: a grading stopped half-way leaves
        // the table of those graded so far.
        write_sheet(&sheet, &out)?;
    }
    show(&sheet, &out);
    Ok(())
}

/// `lab grade EXERCISE --reports FILE...`: the students' own reports in one
/// table; needs no lab.
pub fn merge(args: &GradeArgs) -> anyhow::Result<()> {
    let exercise = crate::model::exercise::load(&args.exercise)?;
    let mut sheet = Sheet::new(
        &exercise,
        Source::Reports,
        crate::model::time::rfc3339(SystemTime::now()),
    );
    let mut problems = Vec::new();
    for file in &args.reports {
        let row = std::fs::read_to_string(file)
            .map_err(|e| format!("{}: {e}", file.display()))
            .and_then(|text| row_from_report(&exercise, file, &text));
        match row {
            Ok(row) if sheet.rows.iter().any(|r| r.student == row.student) => {
                problems.push(format!(
                    "{}: a second report of student `{}`",
                    file.display(),
                    row.student
                ))
            }
            Ok(row) => sheet.rows.push(row),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        bail!(
            "{} of {} reports cannot be merged:\n{}\nhint: each must be one student's `lab check --json` output for {}",
            problems.len(),
            args.reports.len(),
            problems.join("\n"),
            exercise.file.display()
        );
    }
    let out = out_dir(&args.out)?;
    write_sheet(&sheet, &out)?;
    show(&sheet, &out);
    Ok(())
}

/// The submissions, named by their directories; each must be a directory,
/// and no two may share a name or a stack.
fn submissions(dirs: &[PathBuf]) -> anyhow::Result<Vec<Submission>> {
    let mut list: Vec<Submission> = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            bail!(
                "{} is not a directory\nhint: each submission is one student's directory, named for the student",
                dir.display()
            );
        }
        let student = std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
            .unwrap_or_default();
        let mut stack = format!("{PREFIX}{}", super::deploy::stack_name(&student));
        stack.truncate(MAX_STACK_NAME);
        let stack = stack.trim_end_matches('-').to_string();
        if let Some(same) = list
            .iter()
            .find(|s| s.student == student || s.stack == stack)
        {
            bail!(
                "{} and {} would both be graded as `{}`\nhint: give each student's directory a name of its own",
                same.dir.display(),
                dir.display(),
                same.stack
            );
        }
        list.push(Submission {
            student,
            dir: dir.clone(),
            stack,
        });
    }
    Ok(list)
}

fn out_dir(out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("making {}", out.display()))?;
    Ok(out.to_path_buf())
}

/// Deploys one submission, checks it within its time limit, removes it.
/// Whatever the submission does is its score; an error is the lab's own
/// (its stack could not be removed), which stops the grading.
#[allow(clippy::too_many_arguments)]
async fn grade_one(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
    exercise: &Exercise,
    stack_file: &Path,
    submission: &Submission,
    limit: Duration,
    task: &Task,
) -> anyhow::Result<Row> {
    let deadline = Instant::now() + limit;
    let file = submission.dir.join(stack_file);
    if !file.is_file() {
        return Ok(Row::unchecked(
            exercise,
            &submission.student,
            &format!("the submission has no {}", stack_file.display()),
        ));
    }
    task.begin(&format!("deploying {}", file.display()));
    // Recorded before the deploy: the name was free under the lab's lock,
    // so whatever bears it afterwards is this deploy's, and a grading
    // stopped during it leaves a stack the next one knows to remove.
    crate::host::record::update(&lab.state_dir(), |r| {
        r.grading.push(submission.stack.clone());
    })?;
    let name = &submission.stack;
    let deployed = tokio::time::timeout_at(
        deadline.into(),
        super::deploy::put(runner, lab, seen, &file, name),
    )
    .await;
    let row = match deployed {
        Err(_) => Row::unchecked(
            exercise,
            &submission.student,
            &format!("did not deploy within {}s", limit.as_secs()),
        ),
        Ok(Err(e)) => Row::unchecked(
            exercise,
            &submission.student,
            &format!("did not deploy: {e:#}"),
        ),
        Ok(Ok(())) => {
            task.begin(&format!("{} checks", exercise.checks.len()));
            let total = exercise.checks.len();
            let scope = Scope {
                stack: Some(name.clone()),
                deadline: Some(deadline),
            };
            let outcomes = exercise::run(runner, lab, seen, exercise, &scope, &|done, o| {
                task.begin(&super::check::progress(done, total, o));
            })
            .await;
            Row {
                student: submission.student.clone(),
                outcomes,
                note: None,
            }
        }
    };
    task.begin(&format!("removing stack {name}"));
    take_away(runner, lab, seen, name).await?;
    forget(lab, name)?;
    Ok(row)
}

fn forget(lab: &Lab, stack: &str) -> anyhow::Result<()> {
    crate::host::record::update(&lab.state_dir(), |r| r.grading.retain(|s| s != stack))
}

/// The stacks on the swarm.
async fn stacks(runner: &Runner, lab: &Lab, seen: &Observed) -> anyhow::Result<Vec<String>> {
    let manager = engine_of(lab, seen, &lab.master().name);
    let out = on_swarm(
        runner,
        &manager,
        &words(&["stack", "ls", "--format", "{{.Name}}"]),
    )
    .await?;
    Ok(out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// `docker stack rm`, then waits until the stack's services, networks and
/// containers are gone (the next submission wants its ports), and removes
/// the volumes it made on each machine.
async fn take_away(runner: &Runner, lab: &Lab, seen: &Observed, name: &str) -> anyhow::Result<()> {
    let manager = engine_of(lab, seen, &lab.master().name);
    let label = format!("label=com.docker.stack.namespace={name}");
    on_swarm(runner, &manager, &words(&["stack", "rm", name]))
        .await
        .with_context(|| format!("removing stack {name}"))?;
    let swarm_machines: Vec<&str> = lab
        .machines
        .iter()
        .filter(|m| matches!(m.role, Role::Master | Role::Node))
        .map(|m| m.name.as_str())
        .collect();
    let started = Instant::now();
    loop {
        let mut left = Vec::new();
        for what in ["service", "network"] {
            let listed = on(
                runner,
                &manager,
                &crate::tools::swarm::labelled_ls_args(what, &label),
            )
            .await?;
            if !listed.trim().is_empty() {
                left.push(format!("{what}s on {}", lab.master().name));
            }
        }
        for machine in &swarm_machines {
            let engine = engine_of(lab, seen, machine);
            let listed = on(
                runner,
                &engine,
                &crate::tools::containers::labelled_args(&label),
            )
            .await?;
            if !listed.trim().is_empty() {
                left.push(format!("containers on {machine}"));
            }
        }
        if left.is_empty() {
            break;
        }
        if started.elapsed() > REMOVAL {
            bail!(
                "stack {name} was removed, but after {}s its {} are still there\nhint: `docker stack ps {name}` on {} says why; remove them, then run `lab grade` again",
                REMOVAL.as_secs(),
                left.join(", "),
                lab.master().name
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for machine in &swarm_machines {
        let engine = engine_of(lab, seen, machine);
        let listed = on(
            runner,
            &engine,
            &words(&["volume", "ls", "-q", "--filter", &label]),
        )
        .await?;
        let volumes: Vec<String> = listed.split_whitespace().map(String::from).collect();
        if !volumes.is_empty() {
            let mut args = words(&["volume", "rm"]);
            args.extend(volumes);
            on(runner, &engine, &args)
                .await
                .with_context(|| format!("removing stack {name}'s volumes on {machine}"))?;
        }
    }
    Ok(())
}

/// Owner-only, like the students' reports: grades are personal data.
fn write_sheet(sheet: &Sheet, out: &Path) -> anyhow::Result<()> {
    crate::process::files::write_atomically(&out.join("grades.csv"), sheet.csv().as_bytes())?;
    crate::process::files::write_atomically(&out.join("grades.html"), sheet.html()?.as_bytes())?;
    Ok(())
}

/// The table on stdout, then where the files are.
fn show(sheet: &Sheet, out: &Path) {
    let rows: Vec<Vec<String>> = sheet
        .rows
        .iter()
        .map(|r| {
            vec![
                r.student.clone(),
                format!("{}/{}", r.points(), sheet.max_points()),
                r.note.clone().unwrap_or_default().replace('\n', " "),
            ]
        })
        .collect();
    crate::out!(
        "{}",
        crate::ui::columns(&["STUDENT", "POINTS", "NOTE"], &rows)
    );
    for (i, passed) in sheet.passed().iter().enumerate() {
        crate::outln!(
            "{passed} of {} passed: {}",
            sheet.rows.len(),
            sheet.checks[i].0
        );
    }
    crate::outln!(
        "wrote {} and {}",
        out.join("grades.csv").display(),
        out.join("grades.html").display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submissions_are_named_by_their_directories_and_never_share_a_stack() {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["Ada Lovelace", "ada_lovelace", "bob", "x/bob"] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        let list = submissions(&[tmp.path().join("Ada Lovelace"), tmp.path().join("bob")]).unwrap();
        assert_eq!(list[0].student, "Ada Lovelace");
        assert_eq!(list[0].stack, "grade-ada-lovelace");
        assert_eq!(list[1].stack, "grade-bob");
        let clash = submissions(&[
            tmp.path().join("Ada Lovelace"),
            tmp.path().join("ada_lovelace"),
        ])
        .unwrap_err();
        assert!(format!("{clash:#}").contains("would both be graded as `grade-ada-lovelace`"));
        let same = submissions(&[tmp.path().join("bob"), tmp.path().join("x/bob")]).unwrap_err();
        assert!(format!("{same:#}").contains("both"));
        let missing = submissions(&[tmp.path().join("carol")]).unwrap_err();
        assert!(format!("{missing:#}").contains("is not a directory"));
        let long = "a".repeat(80);
        std::fs::create_dir_all(tmp.path().join(&long)).unwrap();
        let list = submissions(&[tmp.path().join(&long)]).unwrap();
        assert!(list[0].stack.len() <= MAX_STACK_NAME);
    }
}
