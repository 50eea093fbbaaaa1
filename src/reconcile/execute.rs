//! Runs a plan as its graph (`graph::waits_for`): every step starts as soon
//! as the steps it waits for are done, the steps of one machine one after
//! another. When one machine's step fails, what does not wait for it still
//! runs, and every failure is reported with its machine, its command and
//! the command's stderr.

use std::collections::HashMap;
use std::fmt;

use tokio::task::JoinSet;

use crate::host::tls;
use crate::process::runner::Runner;
use crate::reconcile::graph;
use crate::reconcile::plan::{Action, Plan, Step};
use crate::tools::{images, swarm};
use crate::ui::{Task, Ui};

/// One machine's failed step.
#[derive(Debug)]
pub struct StepFailure {
    pub machine: String,
    pub action: String,
    pub error: anyhow::Error,
}

/// Some steps failed; the ones before them and beside them stand.
#[derive(Debug, thiserror::Error)]
pub struct PlanFailed {
    pub failures: Vec<StepFailure>,
    pub log: Option<String>,
    pub retry_hint: &'static str,
}

impl fmt::Display for PlanFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.failures.iter().map(|x| x.machine.as_str()).collect();
        write!(f, "{} failed", names.join(", "))?;
        for failure in &self.failures {
            write!(
                f,
                "\n\n{}: {}\n{:#}",
                failure.machine, failure.action, failure.error
            )?;
        }
        if let Some(log) = &self.log {
            write!(f, "\n\nfull output of every command: {log}")?;
        }
        write!(f, "\nhint: {}", self.retry_hint)
    }
}

pub async fn execute(
    plan: &Plan,
    runner: &Runner,
    ui: &Ui,
    retry_hint: &'static str,
) -> Result<(), PlanFailed> {
    let waits = graph::waits_for(plan);
    let steps = &plan.steps;
    let mut state = vec![State::Waiting; steps.len()];
    let mut bars: HashMap<String, Task> = HashMap::new();
    let mut running = JoinSet::new();
    let mut started: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut failures = Vec::new();
    loop {
        for i in 0..steps.len() {
            if state[i] != State::Waiting {
                continue;
            }
            if waits[i]
                .iter()
                .any(|&d| matches!(state[d], State::Failed | State::Skipped))
            {
                state[i] = State::Skipped;
            } else if waits[i].iter().all(|&d| state[d] == State::Done) {
                state[i] = State::Running;
                let label = label(&steps[i]);
                let task = bars.remove(&label).unwrap_or_else(|| ui.task(&label));
                let (runner, step) = (runner.clone(), steps[i].clone());
                let handle = running.spawn(async move {
                    let shown = step.action.to_string();
                    task.begin(&short(&shown));
                    let result = run_step(&runner, &task, &step.action).await;
                    (task, shown, result)
                });
                started.insert(handle.id(), i);
            }
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, Ok(outcome)),
            Err(panic) => (panic.id(), Err(panic)),
        };
        let i = started[&id];
        let label = label(&steps[i]);
        match outcome {
            Ok((task, _, Ok(()))) => {
                state[i] = State::Done;
                let more = (i + 1..steps.len())
                    .any(|j| state[j] == State::Waiting && steps[j].machine == steps[i].machine);
                if more {
                    bars.insert(label, task);
                } else {
                    task.finish("done");
                }
            }
            Ok((task, action, Err(error))) => {
                state[i] = State::Failed;
                task.finish("failed");
                failures.push(StepFailure {
                    machine: label,
                    action,
                    error,
                });
            }
            Err(panic) => {
                state[i] = State::Failed;
                failures.push(StepFailure {
                    machine: label,
                    action: "internal task".into(),
                    error: anyhow::anyhow!("{panic}"),
                });
            }
        }
    }
    for (_, task) in bars {
        task.finish("not run: a step it waits for failed");
    }
    if failures.is_empty() {
        return Ok(());
    }
    failures.sort_by(|a, b| a.machine.cmp(&b.machine));
    Err(PlanFailed {
        failures,
        log: runner.log_path.as_ref().map(|p| p.display().to_string()),
        retry_hint,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    Failed,
    /// Not run: a step it waits for failed.
    Skipped,
}

fn label(step: &Step) -> String {
    step.machine
        .clone()
        .unwrap_or_else(|| "all machines".to_string())
}

async fn run_step(runner: &Runner, task: &Task, action: &Action) -> anyhow::Result<()> {
    let on_line = |line: &str| task.progress(line);
    match action {
        Action::Run { command } => {
            runner.run(command, &on_line).await?;
        }
        Action::Docker { engine, args } => {
            let cmd = engine.docker(runner, args).await?;
            runner.run(&cmd, &on_line).await?;
        }
        Action::EnsureCa { dir, lab } => tls::ensure_ca(dir, lab)?,
        Action::IssueCert {
            dir,
            lab,
            machine,
            names,
        } => tls::issue_server(dir, lab, machine, names)?,
        Action::WriteFile { path, text } => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text)
                .map_err(|e| anyhow::anyhow!("could not write {}: {e}", path.display()))?;
        }
        Action::Upload { command, from } => {
            let bytes = std::fs::read(from)
                .map_err(|e| anyhow::anyhow!("could not read {}: {e}", from.display()))?;
            runner.run_with_input(command, &bytes).await?;
        }
        Action::WaitEngine { engine } => engine.wait(runner, &on_line).await?,
        Action::CopyImage {
            engine,
            image,
            archive,
        } => {
            let copied = images::copy_if_missing(runner, engine, image, archive).await;
            let _ = std::fs::remove_file(archive);
            if copied? == images::Source::Loaded {
                on_line(&format!("{image} loaded from this host's engine"));
            }
        }
        Action::SwarmInit {
            engine, advertise, ..
        } => swarm::init(runner, engine, advertise, &on_line).await?,
        Action::SwarmNetwork { engine, name } => {
            swarm::ensure_network(runner, engine, name, &on_line).await?
        }
        Action::SwarmJoin {
            node,
            node_ssh,
            manager,
            advertise,
            manager_addr,
            ..
        } => {
            swarm::join(
                runner,
                &swarm::Join {
                    node,
                    node_ssh,
                    manager,
                    advertise,
                    manager_addr,
                },
                &on_line,
            )
            .await?;
        }
        Action::RemoveDir { path } => {
            if path.exists() {
                std::fs::remove_dir_all(path)
                    .map_err(|e| anyhow::anyhow!("could not remove {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// The start of a command line, for a bar's one line.
fn short(text: &str) -> String {
    const MAX: usize = 72;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::runner::Tools;
    use crate::reconcile::plan::Stage;

    fn write(machine: Option<&str>, path: std::path::PathBuf) -> Step {
        Step {
            stage: Stage::Engines,
            machine: machine.map(String::from),
            hook: "test",
            reason: String::new(),
            action: Action::WriteFile {
                path,
                text: "x".into(),
            },
        }
    }

    #[tokio::test]
    async fn a_failed_step_stops_what_waits_for_it_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "").unwrap();
        let at = |name: &str| dir.path().join(name);
        let plan = Plan {
            steps: vec![
                // A file cannot be a directory: machine a's first step fails.
                write(Some("a"), blocker.join("inside")),
                write(Some("a"), at("a-second")),
                write(Some("b"), at("b-first")),
                write(Some("b"), at("b-second")),
                write(None, at("whole-lab")),
            ],
        };
        let runner = Runner::new(Tools::default());
        let failed = execute(&plan, &runner, &Ui::new(true), "again")
            .await
            .unwrap_err();
        assert_eq!(failed.failures.len(), 1);
        assert_eq!(failed.failures[0].machine, "a");
        assert!(failed.to_string().starts_with("a failed"), "{failed}");
        assert!(at("b-first").exists() && at("b-second").exists());
        assert!(!at("a-second").exists(), "it waits for a's failed step");
        assert!(!at("whole-lab").exists(), "it waits for every step");
    }
}
