//! Runs a plan: stage by stage, the machines of a stage at the same time.
//! When one machine fails, the others of its stage still finish, and every
//! failure is reported with its machine, its command and the command's stderr.

use std::fmt;

use tokio::task::JoinSet;

use crate::host::tls;
use crate::process::runner::Runner;
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
    for stage in plan.stages() {
        let mut by_machine: Vec<(String, Vec<Step>)> = Vec::new();
        for step in stage {
            let label = step
                .machine
                .clone()
                .unwrap_or_else(|| "all machines".to_string());
            match by_machine.iter_mut().find(|(m, _)| *m == label) {
                Some((_, steps)) => steps.push(step.clone()),
                None => by_machine.push((label, vec![step.clone()])),
            }
        }
        let mut tasks = JoinSet::new();
        for (label, steps) in by_machine {
            let runner = runner.clone();
            let task = ui.task(&label);
            tasks.spawn(async move { run_machine_steps(&runner, task, &label, &steps).await });
        }
        let mut failures = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => failures.push(failure),
                Err(panic) => failures.push(StepFailure {
                    machine: "lab".into(),
                    action: "internal task".into(),
                    error: anyhow::anyhow!("{panic}"),
                }),
            }
        }
        if !failures.is_empty() {
            failures.sort_by(|a, b| a.machine.cmp(&b.machine));
            return Err(PlanFailed {
                failures,
                log: runner.log_path.as_ref().map(|p| p.display().to_string()),
                retry_hint,
            });
        }
    }
    Ok(())
}

async fn run_machine_steps(
    runner: &Runner,
    task: Task,
    label: &str,
    steps: &[Step],
) -> Result<(), StepFailure> {
    for step in steps {
        let shown = step.action.to_string();
        task.begin(&short(&shown));
        if let Err(error) = run_step(runner, &task, &step.action).await {
            task.finish("failed");
            return Err(StepFailure {
                machine: label.to_string(),
                action: shown,
                error,
            });
        }
    }
    task.finish("done");
    Ok(())
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
