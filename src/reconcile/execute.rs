//! Runs a plan as its graph (`graph::waits_for`): every step starts as soon
//! as the steps it waits for are done, the steps of one machine one after
//! another. When one machine's step fails, what does not wait for it still
//! runs, and every failure is reported with its machine, its command and
//! the command's stderr. Steps may be added while others run (`lab up`
//! plans a machine's steps once that machine is up): a step added later
//! waits for the earlier ones it needs, never the other way round.

use anyhow::Context as _;
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
    let mut graph = Executor::new(runner, ui);
    graph.add(plan.steps.clone());
    while graph.next().await {}
    graph.finish(retry_hint)
}

type Outcome = (Task, String, anyhow::Result<()>);

/// A growing plan being run: the steps so far, what each waits for, and
/// where each one is.
pub struct Executor<'a> {
    runner: &'a Runner,
    ui: &'a Ui,
    plan: Plan,
    waits: Vec<Vec<usize>>,
    state: Vec<State>,
    /// Each machine's bar, kept between its steps.
    bars: HashMap<String, Task>,
    running: JoinSet<Outcome>,
    started: HashMap<tokio::task::Id, usize>,
    failures: Vec<StepFailure>,
    /// When this run began, and when each step began and ended since.
    epoch: std::time::Instant,
    began: HashMap<usize, std::time::Duration>,
    ran: Vec<super::timeline::Ran>,
}

impl<'a> Executor<'a> {
    pub fn new(runner: &'a Runner, ui: &'a Ui) -> Executor<'a> {
        Executor {
            runner,
            ui,
            plan: Plan::default(),
            waits: Vec::new(),
            state: Vec::new(),
            bars: HashMap::new(),
            running: JoinSet::new(),
            started: HashMap::new(),
            failures: Vec::new(),
            epoch: std::time::Instant::now(),
            began: HashMap::new(),
            ran: Vec::new(),
        }
    }

    /// Time since this run began.
    pub fn elapsed(&self) -> std::time::Duration {
        self.epoch.elapsed()
    }

    /// The steps that ended well, with their times.
    pub fn ran(&self) -> &[super::timeline::Ran] {
        &self.ran
    }

    /// Adds steps after the ones there, and starts what can start.
    pub fn add(&mut self, steps: Vec<Step>) {
        if steps.is_empty() {
            return;
        }
        self.state.extend(steps.iter().map(|_| State::Waiting));
        self.plan.steps.extend(steps);
        // A step's waits look only backwards: the earlier steps' stay as they were.
        self.waits = graph::waits_for(&self.plan);
        self.start_ready();
    }

    /// The steps added so far, in order.
    pub fn steps(&self) -> &[Step] {
        &self.plan.steps
    }

    /// Whether nothing is running now.
    pub fn is_idle(&self) -> bool {
        self.running.is_empty()
    }

    /// A machine's bar, for what happens to it outside a step (its boot).
    pub fn bar(&mut self, machine: &str) -> &Task {
        let ui = self.ui;
        self.bars
            .entry(machine.to_string())
            .or_insert_with(|| ui.task(machine))
    }

    /// Whether a step of `machine` waits or runs.
    pub fn busy(&self, machine: &str) -> bool {
        self.plan.steps.iter().zip(&self.state).any(|(s, st)| {
            s.machine.as_deref() == Some(machine) && matches!(st, State::Waiting | State::Running)
        })
    }

    /// Ends `machine`'s bar with `outcome` when no step of it is left to run.
    pub fn settle(&mut self, machine: &str, outcome: &str) {
        if !self.busy(machine) {
            if let Some(task) = self.bars.remove(machine) {
                task.finish(outcome);
            }
        }
    }

    /// A failure outside the steps (a machine that did not come up, say).
    pub fn fail(&mut self, machine: &str, action: String, error: anyhow::Error) {
        if let Some(task) = self.bars.remove(machine) {
            task.finish("failed");
        }
        self.failures.push(StepFailure {
            machine: machine.to_string(),
            action,
            error,
        });
    }

    fn start_ready(&mut self) {
        let steps = &self.plan.steps;
        for (i, step) in steps.iter().enumerate() {
            if self.state[i] != State::Waiting {
                continue;
            }
            let waits = &self.waits[i];
            if waits
                .iter()
                .any(|&d| matches!(self.state[d], State::Failed | State::Skipped))
            {
                self.state[i] = State::Skipped;
            } else if waits.iter().all(|&d| self.state[d] == State::Done) {
                self.state[i] = State::Running;
                let label = label(step);
                let task = self
                    .bars
                    .remove(&label)
                    .unwrap_or_else(|| self.ui.task(&label));
                let (runner, step) = (self.runner.clone(), step.clone());
                let handle = self.running.spawn(async move {
                    let shown = step.action.to_string();
                    task.begin(&short(&shown));
                    let result = run_step(&runner, &task, &step.action).await;
                    (task, shown, result)
                });
                self.started.insert(handle.id(), i);
                self.began.insert(i, self.epoch.elapsed());
            }
        }
    }

    /// Waits for one running step to end, records it and starts what can
    /// start then; false when nothing was running.
    pub async fn next(&mut self) -> bool {
        let Some(joined) = self.running.join_next_with_id().await else {
            return false;
        };
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, Ok(outcome)),
            Err(panic) => (panic.id(), Err(panic)),
        };
        let i = self.started[&id];
        let label = label(&self.plan.steps[i]);
        match outcome {
            Ok((task, _, Ok(()))) => {
                self.state[i] = State::Done;
                let step = &self.plan.steps[i];
                self.ran.push(super::timeline::Ran {
                    stage: step.stage,
                    machine: step.machine.clone(),
                    began: self.began.get(&i).copied().unwrap_or_default(),
                    ended: self.epoch.elapsed(),
                });
                let steps = &self.plan.steps;
                let more = (i + 1..steps.len()).any(|j| {
                    self.state[j] == State::Waiting && steps[j].machine == steps[i].machine
                });
                if more {
                    self.bars.insert(label, task);
                } else {
                    task.finish("done");
                }
            }
            Ok((task, action, Err(error))) => {
                self.state[i] = State::Failed;
                task.finish("failed");
                self.failures.push(StepFailure {
                    machine: label,
                    action,
                    error,
                });
            }
            Err(panic) => {
                self.state[i] = State::Failed;
                self.failures.push(StepFailure {
                    machine: label,
                    action: "internal task".into(),
                    error: anyhow::anyhow!("{panic}"),
                });
            }
        }
        self.start_ready();
        true
    }

    /// Whether a step of `machine` failed or was left out for a failure.
    pub fn failed(&self, machine: &str) -> bool {
        self.failures.iter().any(|f| f.machine == machine)
            || self.plan.steps.iter().zip(&self.state).any(|(s, st)| {
                s.machine.as_deref() == Some(machine)
                    && matches!(st, State::Failed | State::Skipped)
            })
    }

    /// The outcome, once nothing runs: every failure, by machine.
    pub fn finish(self, retry_hint: &'static str) -> Result<(), PlanFailed> {
        for (_, task) in self.bars {
            task.finish("not run: a step it waits for failed");
        }
        let mut failures = self.failures;
        if failures.is_empty() {
            return Ok(());
        }
        failures.sort_by(|a, b| a.machine.cmp(&b.machine));
        Err(PlanFailed {
            failures,
            log: self
                .runner
                .log_path
                .as_ref()
                .map(|p| p.display().to_string()),
            retry_hint,
        })
    }
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
        Action::Register {
            command,
            entry,
            machine,
            ip,
            record,
        } => {
            let created = runner.run(command, &on_line).await;
            if entry_made(runner, &created, entry, ip).await {
                crate::host::record::update(record, |r| r.made_entry(entry, machine, ip))?;
            }
            created?;
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
            crate::process::files::write_atomically(path, text.as_bytes())?;
        }
        Action::Upload { command, from } => {
            let bytes = std::fs::read(from)
                .with_context(|| format!("could not read {}", from.display()))?;
            runner.run_with_input(command, &bytes, &on_line).await?;
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
        Action::ForgetMachines { record, machines } => {
            crate::host::record::update(record, |r| r.forget(machines))?;
        }
        Action::Unlist { listing } => crate::host::registry::unregister(listing)?,
        Action::RemoveDir { path } => {
            if path.exists() {
                std::fs::remove_dir_all(path)
                    .with_context(|| format!("could not remove {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Whether a `docker-machine create` made its entry: it succeeded, or it
/// failed after docker-machine stored the entry (provisioning failed), which
/// then points at the address lab gave it. An entry that was there before
/// ("already exists") is not this create's.
async fn entry_made(
    runner: &Runner,
    created: &Result<crate::process::runner::Output, crate::process::process_error::RunError>,
    entry: &str,
    ip: &str,
) -> bool {
    match created {
        Ok(_) => true,
        Err(e) if e.stderr().contains("already exists") => false,
        Err(_) => runner
            .query(&crate::tools::docker_machine::ip(entry))
            .await
            .is_ok_and(|out| out.stdout.trim() == ip),
    }
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
    use crate::process::tool::Tools;
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
